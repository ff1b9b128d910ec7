#!/usr/bin/env bash
# ollama: the Ollama server as a systemd service, listening on all interfaces (port 11434).
# Idempotent: installs only when missing; restarts only when its drop-in changed.
set -euo pipefail
if ! command -v ollama >/dev/null 2>&1; then
  curl -fsSL https://ollama.com/install.sh -o /tmp/ollama-install.sh
  sh /tmp/ollama-install.sh
  rm -f /tmp/ollama-install.sh
fi
dropin=/etc/systemd/system/ollama.service.d/phoenix.conf
want='[Service]
Environment=OLLAMA_HOST=0.0.0.0:11434'
if [ "$(cat "$dropin" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$(dirname "$dropin")"
  printf '%s\n' "$want" >"$dropin"
  systemctl daemon-reload
  systemctl restart ollama
fi
systemctl is-enabled --quiet ollama || systemctl enable --now ollama
