#!/usr/bin/env bash
# Traefik internal mesh (legacy bin/phoenix_hypervisor_lxc_102.sh): certificates from the
# internal CA via ACME (the traefik feature installed the binary and the service).
# Idempotent: the ACME resolver file is written only when it changed.
set -euo pipefail
ca_url=''
for a in "$@"; do case "$a" in --ca-url=*) ca_url="${a#--ca-url=}" ;; esac; done
mkdir -p /etc/traefik/certs /etc/traefik/dynamic
conf=/etc/traefik/dynamic/phoenix-tls.yml
want="tls:
  stores:
    default:
      defaultCertificate:
        certFile: /etc/traefik/certs/cert.pem
        keyFile: /etc/traefik/certs/key.pem"
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" >"$conf"
fi
if [ ! -s /etc/traefik/certs/cert.pem ] && [ -n "$ca_url" ] && command -v step >/dev/null 2>&1; then
  step ca certificate "$(hostname -f)" /etc/traefik/certs/cert.pem /etc/traefik/certs/key.pem \
    --provisioner acme --ca-url "$ca_url"
fi
systemctl is-active --quiet traefik || systemctl restart traefik
