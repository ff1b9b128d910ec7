#!/usr/bin/env bash
# vLLM server (legacy bin/phoenix_hypervisor_lxc_vllm.sh): runs `vllm serve` as a systemd service.
# Arguments are vLLM's own flags, imported from the legacy vllm_engine_config:
#   --model=<hf id> [--served-model-name=...] [--max-model-len=N] [--trust-remote-code] ...
# Idempotent: the unit is rewritten and the service restarted only when the flags changed.
set -euo pipefail
model='' flags=()
for a in "$@"; do
  case "$a" in
    --model=*) model="${a#--model=}" ;;
    --ca-url=*) ;; # passed to every script of the guest; not a vLLM flag
    --*=*) flags+=("${a%%=*}" "${a#*=}") ;;
    --*) flags+=("$a") ;;
  esac
done
if [ -z "$model" ]; then
  echo "vllm app: no --model=<id> argument" >&2
  exit 1
fi
[ -x /opt/vllm/bin/vllm ] || { echo "vllm app: run the vllm feature first" >&2; exit 1; }

unit=/etc/systemd/system/vllm.service
want="[Unit]
Description=vLLM OpenAI-compatible server ($model)
After=network-online.target
[Service]
Environment=HF_HOME=/vllm_models
ExecStart=/opt/vllm/bin/vllm serve $model ${flags[*]}
Restart=on-failure
[Install]
WantedBy=multi-user.target"
if [ "$(cat "$unit" 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" >"$unit"
  systemctl daemon-reload
  systemctl restart vllm
fi
systemctl is-enabled --quiet vllm || systemctl enable --now vllm
