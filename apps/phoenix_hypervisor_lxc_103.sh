#!/usr/bin/env bash
# Step-CA (legacy bin/phoenix_hypervisor_lxc_103.sh): the CA answers on :9000 and its root
# certificate is published on the shared /etc/step-ca/ssl mount for the other guests.
# Idempotent: only checks and copies when different.
set -euo pipefail
export STEPPATH=/etc/step-ca
systemctl is-active --quiet step-ca || systemctl restart step-ca
for _ in $(seq 1 30); do
  curl -fsSk https://127.0.0.1:9000/health >/dev/null 2>&1 && break
  sleep 1
done
curl -fsSk https://127.0.0.1:9000/health
mkdir -p "$STEPPATH/ssl"
cmp -s "$STEPPATH/certs/root_ca.crt" "$STEPPATH/ssl/root_ca.crt" ||
  install -m 0644 "$STEPPATH/certs/root_ca.crt" "$STEPPATH/ssl/root_ca.crt"
