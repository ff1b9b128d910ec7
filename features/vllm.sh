#!/usr/bin/env bash
# vllm: vLLM in a Python virtual environment under /opt/vllm (the app script runs the server).
# Idempotent: the venv and the package are created/installed only when missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
spec='vllm'
for a in "$@"; do case "$a" in --vllm-version=*) spec="vllm==${a#*=}" ;; esac; done

dpkg -s python3-venv >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q python3-venv python3-pip; }
[ -x /opt/vllm/bin/python ] || python3 -m venv /opt/vllm
/opt/vllm/bin/python -c 'import vllm' 2>/dev/null || /opt/vllm/bin/pip install --no-cache-dir "$spec"
