#!/usr/bin/env bash
# base_setup: what every Phoenix guest starts from (legacy lxc_setup/..._install_base_setup.sh).
# Idempotent: installs only missing packages, generates the locale only when it is absent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

pkgs=(ca-certificates curl gnupg jq locales openssl unattended-upgrades)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
  sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >>/etc/locale.gen
  locale-gen
fi
[ -f /etc/default/locale ] && grep -q '^LANG=en_US.UTF-8' /etc/default/locale || update-locale LANG=en_US.UTF-8

systemctl is-enabled --quiet unattended-upgrades 2>/dev/null || systemctl enable --now unattended-upgrades
