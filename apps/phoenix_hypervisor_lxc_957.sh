#!/usr/bin/env bash
# llama.cpp server (legacy bin/phoenix_hypervisor_lxc_957.sh): builds llama.cpp with CUDA once
# and runs llama-server on :8081 for the GGUF model given as --model=<path>.
# Idempotent: clones/builds only when the binary is missing; rewrites the unit only on change.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
model='' ref='master'
for a in "$@"; do
  case "$a" in --model=*) model="${a#--model=}" ;; --ref=*) ref="${a#--ref=}" ;; esac
done
if [ ! -x /opt/llama.cpp/build/bin/llama-server ]; then
  dpkg -s cmake >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q git cmake build-essential libcurl4-openssl-dev; }
  [ -d /opt/llama.cpp/.git ] || git clone --depth 1 --branch "$ref" https://github.com/ggml-org/llama.cpp /opt/llama.cpp
  cmake -S /opt/llama.cpp -B /opt/llama.cpp/build -DGGML_CUDA=ON
  cmake --build /opt/llama.cpp/build --target llama-server -j "$(nproc)"
fi
if [ -z "$model" ]; then
  echo "llama.cpp built; pass --model=<file.gguf> (app.args) to run llama-server" >&2
  exit 0
fi
unit=/etc/systemd/system/llama-server.service
want="[Unit]
Description=llama.cpp server
After=network-online.target
[Service]
ExecStart=/opt/llama.cpp/build/bin/llama-server --host 0.0.0.0 --port 8081 -m $model
Restart=on-failure
[Install]
WantedBy=multi-user.target"
if [ "$(cat "$unit" 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" >"$unit"
  systemctl daemon-reload
  systemctl restart llama-server
fi
systemctl is-enabled --quiet llama-server || systemctl enable --now llama-server
