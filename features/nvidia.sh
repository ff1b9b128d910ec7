#!/usr/bin/env bash
# nvidia: the NVIDIA userspace driver inside a container (the host owns the kernel module, so
# versions must match: --driver-version), plus the NVIDIA container toolkit.
# Idempotent: the runfile runs only when nvidia-smi reports another version.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
version='' runfile=''
for a in "$@"; do
  case "$a" in --driver-version=*) version="${a#*=}" ;; --runfile-url=*) runfile="${a#*=}" ;; esac
done
if [ -z "$version" ] || [ -z "$runfile" ]; then
  echo "nvidia: needs --driver-version and --runfile-url (features.nvidia.args)" >&2
  exit 1
fi

have=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n1 || true)
if [ "$have" != "$version" ]; then
  dpkg -s build-essential >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q kmod pkg-config build-essential; }
  curl -fsSL -o /tmp/nvidia.run "$runfile"
  sh /tmp/nvidia.run --silent --no-kernel-module --no-questions --ui=none
  rm -f /tmp/nvidia.run
fi

if ! dpkg -s nvidia-container-toolkit >/dev/null 2>&1; then
  curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | gpg --dearmor --yes -o /usr/share/keyrings/nvidia-container-toolkit.gpg
  curl -fsSL https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list |
    sed 's#deb https://#deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit.gpg] https://#' \
      >/etc/apt/sources.list.d/nvidia-container-toolkit.list
  apt-get update -q
  apt-get install -y -q nvidia-container-toolkit
fi
