#!/usr/bin/env bash
# traefik: the Traefik binary and a systemd service reading /etc/traefik/traefik.yml.
# Idempotent: downloads only another version; writes the unit and a starter config only once.
set -euo pipefail
version='v3.1.6'
for a in "$@"; do case "$a" in --traefik-version=*) version="${a#*=}" ;; esac; done

if [ "$(/usr/local/bin/traefik version 2>/dev/null | awk '/^Version:/ {print "v"$2}')" != "$version" ]; then
  curl -fsSL "https://github.com/traefik/traefik/releases/download/${version}/traefik_${version}_linux_amd64.tar.gz" |
    tar -xz -C /usr/local/bin traefik
fi
mkdir -p /etc/traefik/dynamic
[ -s /etc/traefik/traefik.yml ] || cat >/etc/traefik/traefik.yml <<'YML'
entryPoints:
  web: { address: ":80" }
  websecure: { address: ":443" }
providers:
  file: { directory: /etc/traefik/dynamic, watch: true }
YML
unit=/etc/systemd/system/traefik.service
want='[Unit]
Description=Traefik
After=network-online.target
[Service]
ExecStart=/usr/local/bin/traefik --configFile=/etc/traefik/traefik.yml
Restart=on-failure
[Install]
WantedBy=multi-user.target'
if [ "$(cat "$unit" 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" >"$unit"
  systemctl daemon-reload
fi
systemctl enable --now traefik
