#!/usr/bin/env bash
# trusted_ca: trust the internal Step CA's root certificate system-wide.
# Source: the shared /etc/step-ca/ssl mount (legacy layout), else <ca-url>/roots.pem.
# Idempotent: the store is updated only when the certificate changed.
set -euo pipefail
ca_url=''
for a in "$@"; do case "$a" in --ca-url=*) ca_url="${a#--ca-url=}" ;; esac; done

dest=/usr/local/share/ca-certificates/phoenix-root-ca.crt
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
if [ -s /etc/step-ca/ssl/root_ca.crt ]; then
  cp /etc/step-ca/ssl/root_ca.crt "$tmp"
elif [ -n "$ca_url" ]; then
  # -k: this is how we obtain the root we do not trust yet; the fingerprint is logged for review.
  curl -fsSk "${ca_url%/}/roots.pem" -o "$tmp"
else
  echo "trusted_ca: no /etc/step-ca/ssl/root_ca.crt and no --ca-url" >&2
  exit 1
fi
openssl x509 -in "$tmp" -noout -fingerprint -sha256
if ! cmp -s "$tmp" "$dest"; then
  install -m 0644 "$tmp" "$dest"
  update-ca-certificates
fi
