#!/usr/bin/env bash
# step_ca: a Smallstep step-ca certificate authority on :9000, run by systemd.
# Idempotent: installs only when missing, initialises the CA only once, publishes the root
# certificate to the shared /etc/step-ca/ssl mount only when it changed.
set -euo pipefail
export STEPPATH=/etc/step-ca
name='Phoenix Internal CA'
dns="$(hostname -f)"
for a in "$@"; do
  case "$a" in --name=*) name="${a#--name=}" ;; --dns=*) dns="${a#--dns=}" ;; esac
done

command -v step >/dev/null 2>&1 || {
  curl -fsSL -o /tmp/step-cli.deb https://dl.smallstep.com/cli/docs-cli-install/latest/step-cli_amd64.deb
  dpkg -i /tmp/step-cli.deb && rm -f /tmp/step-cli.deb
}
command -v step-ca >/dev/null 2>&1 || {
  curl -fsSL -o /tmp/step-ca.deb https://dl.smallstep.com/certificates/docs-ca-install/latest/step-ca_amd64.deb
  dpkg -i /tmp/step-ca.deb && rm -f /tmp/step-ca.deb
}

mkdir -p "$STEPPATH"
if [ ! -s "$STEPPATH/config/ca.json" ]; then
  umask 077
  [ -s "$STEPPATH/password.txt" ] || openssl rand -base64 32 >"$STEPPATH/password.txt"
  step ca init --name "$name" --dns "$dns" --address ':9000' --provisioner admin \
    --password-file "$STEPPATH/password.txt" --acme
fi

unit=/etc/systemd/system/step-ca.service
want="[Unit]
Description=Smallstep step-ca
After=network-online.target
[Service]
Environment=STEPPATH=$STEPPATH
ExecStart=/usr/bin/step-ca $STEPPATH/config/ca.json --password-file $STEPPATH/password.txt
Restart=on-failure
[Install]
WantedBy=multi-user.target"
if [ "$(cat "$unit" 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" >"$unit"
  systemctl daemon-reload
fi
systemctl enable --now step-ca

mkdir -p "$STEPPATH/ssl"
cmp -s "$STEPPATH/certs/root_ca.crt" "$STEPPATH/ssl/root_ca.crt" || install -m 0644 "$STEPPATH/certs/root_ca.crt" "$STEPPATH/ssl/root_ca.crt"
