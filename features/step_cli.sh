#!/usr/bin/env bash
# step_cli: the Smallstep `step` CLI, bootstrapped against the internal CA when --ca-url is given.
# Idempotent: installs only when missing, bootstraps only when not yet configured.
set -euo pipefail
ca_url=''
for a in "$@"; do case "$a" in --ca-url=*) ca_url="${a#--ca-url=}" ;; esac; done

if ! command -v step >/dev/null 2>&1; then
  curl -fsSL -o /tmp/step-cli.deb https://dl.smallstep.com/cli/docs-cli-install/latest/step-cli_amd64.deb
  dpkg -i /tmp/step-cli.deb
  rm -f /tmp/step-cli.deb
fi

root=/usr/local/share/ca-certificates/phoenix-root-ca.crt
if [ -n "$ca_url" ] && [ ! -s "$(step path)/config/defaults.json" ]; then
  if [ ! -s "$root" ]; then
    echo "step_cli: run the trusted_ca feature first (no $root)" >&2
    exit 1
  fi
  step ca bootstrap --ca-url "$ca_url" --fingerprint "$(step certificate fingerprint "$root")"
fi
