#!/usr/bin/env bash
# docker_proxy: expose the Docker API on TCP 2376 with TLS (for Portainer and Traefik).
# Uses /etc/docker/tls/{ca,cert,key}.pem when present, else makes a self-signed pair once.
# Idempotent: Docker is restarted only when its systemd drop-in changed.
set -euo pipefail
tls=/etc/docker/tls
mkdir -p "$tls"
if [ ! -s "$tls/cert.pem" ] || [ ! -s "$tls/key.pem" ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -days 825 -subj "/CN=$(hostname -f)" \
    -addext "subjectAltName=DNS:$(hostname -f),DNS:$(hostname)" -keyout "$tls/key.pem" -out "$tls/cert.pem"
  chmod 600 "$tls/key.pem"
fi
[ -s "$tls/ca.pem" ] || cp "$tls/cert.pem" "$tls/ca.pem"

dropin=/etc/systemd/system/docker.service.d/phoenix-tcp.conf
want="[Service]
ExecStart=
ExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2376 --tlsverify --tlscacert=$tls/ca.pem --tlscert=$tls/cert.pem --tlskey=$tls/key.pem --containerd=/run/containerd/containerd.sock"
if [ "$(cat "$dropin" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$(dirname "$dropin")"
  printf '%s\n' "$want" >"$dropin"
  systemctl daemon-reload
  systemctl restart docker
fi
