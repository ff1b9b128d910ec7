#!/usr/bin/env bash
# Ollama (legacy bin/phoenix_hypervisor_lxc_955.sh): the server runs and answers, and the
# models given as --pull=<name> are present.
# Idempotent: pulls only models that `ollama list` does not show.
set -euo pipefail
models=()
for a in "$@"; do case "$a" in --pull=*) models+=("${a#--pull=}") ;; esac; done
systemctl is-active --quiet ollama || systemctl restart ollama
for _ in $(seq 1 30); do curl -fs http://127.0.0.1:11434/api/version >/dev/null && break; sleep 1; done
curl -fs http://127.0.0.1:11434/api/version
for m in "${models[@]}"; do
  ollama list | awk 'NR>1 {print $1}' | grep -qx "$m" || ollama pull "$m"
done
