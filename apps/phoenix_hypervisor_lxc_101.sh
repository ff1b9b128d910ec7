#!/usr/bin/env bash
# Nginx gateway (legacy bin/phoenix_hypervisor_lxc_101.sh): nginx serving TLS from the
# /etc/nginx/ssl mount and proxying to Traefik. Site files are yours: this script only makes
# sure nginx is installed, its config is valid, and it runs.
# Idempotent: installs only when missing; reloads only when the config test passes.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
dpkg -s nginx >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q nginx; }
mkdir -p /etc/nginx/ssl /var/log/nginx
nginx -t
systemctl enable --now nginx
systemctl reload nginx
