#!/usr/bin/env bash
# A throw-away OpenSSH server on 127.0.0.1 that looks like a Proxmox node to Phoenix: its `pct`,
# `qm`, `pvesh`, `pvesm` (and the host tools the simulator fakes) are the simulator's, and the
# host paths Phoenix reads and writes itself (/etc, /var/tmp, /var/lib/phoenix, /run/lock) are the
# simulator's state folder, bound there in a private mount namespace that only this sshd and its
# sessions see. Nothing is configured by hand: openssh-server is installed when missing.
#
# Usage: test/ssh/sshd.sh <work dir> <simulator state folder (initialised)> <port>
# Prints PID=, SSH_CONFIG= (client config: user key, known_hosts), BAD_CONFIG= (empty known_hosts).
# Exit 3 when it cannot run on this machine, with the reason on stderr.
set -euo pipefail
dir=$1 sim=$2 port=$3
repo=$(cd "$(dirname "$0")/../.." && pwd)
SSHD=/usr/sbin/sshd

cannot() {
  echo "sshd.sh: cannot start a real sshd here: $*" >&2
  exit 3
}

# Phoenix logs in as root (Proxmox's CLIs are root-only), and only root's sshd can log root in and
# set up the mount namespace.
[ "$(id -u)" = 0 ] || cannot "needs root (sshd must accept root logins and bind the simulator's folders)"
command -v unshare >/dev/null || cannot "unshare (util-linux) is missing"
if [ ! -x "$SSHD" ]; then
  command -v apt-get >/dev/null || cannot "$SSHD is missing and there is no apt-get to install openssh-server"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq --no-install-recommends openssh-server ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends openssh-server; }; } >&2 ||
    cannot "apt-get install openssh-server failed"
fi
command -v ssh-keygen >/dev/null || cannot "ssh-keygen (openssh-client) is missing"
unshare -m --propagation private true 2>/dev/null || cannot "mount namespaces are not allowed here (unshare -m)"

mkdir -p "$dir"
rm -f "$dir"/host_ed25519* "$dir"/user_ed25519*
ssh-keygen -q -t ed25519 -N '' -C phoenix-test-host -f "$dir/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -C phoenix-test-user -f "$dir/user_ed25519"
cp "$dir/user_ed25519.pub" "$dir/authorized_keys"
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >"$dir/known_hosts"
: >"$dir/known_hosts.empty"

# The simulator's /etc is the machine's, plus what the simulator keeps there (pve, subuid, ...).
mkdir -p "$sim/etc" "$sim/var/tmp" "$sim/var/lib/phoenix" "$sim/run/lock"
chmod 1777 "$sim/var/tmp"
cp -an /etc/. "$sim/etc/"
# root's home on the node is a fresh one (a Proxmox node's root has no pyenv or the like in .bashrc).
mkdir -p "$dir/root-home"
sed -i "s#^root:\([^:]*\):0:0:\([^:]*\):[^:]*:#root:\1:0:0:\2:$dir/root-home:#" "$sim/etc/passwd"
mkdir -p /var/lib/phoenix /run/sshd

node_dir=$(dirname "$(command -v node)")
cat >"$dir/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile none
AuthorizedKeysFile $dir/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
LogLevel ERROR
SetEnv PATH=$repo/bin/sim:$node_dir:/usr/sbin:/usr/bin:/sbin:/bin PHOENIX_SIM_ROOT=$sim PHOENIX_SIM_SPEED=${PHOENIX_SIM_SPEED:-0}
EOF
"$SSHD" -t -f "$dir/sshd_config" || cannot "sshd rejects the generated configuration"

client() {
  cat <<EOF
Host *
  IdentityFile $dir/user_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $1
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  LogLevel ERROR
EOF
}
client "$dir/known_hosts" >"$dir/ssh_config"
client "$dir/known_hosts.empty" >"$dir/ssh_config.unknown"

# The mount namespace lives as long as sshd; every session (and so every pct/qm) runs inside it.
binds=''
for p in /etc /var/tmp /var/lib/phoenix /run/lock; do binds="$binds mount --bind '$sim$p' '$p' &&"; done
setsid unshare -m --propagation private sh -c "$binds exec '$SSHD' -D -e -f '$dir/sshd_config'" \
  </dev/null >>"$dir/sshd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "PID=$pid"
    echo "SSH_CONFIG=$dir/ssh_config"
    echo "BAD_CONFIG=$dir/ssh_config.unknown"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || cannot "sshd exited: $(cat "$dir/sshd.log")"
  sleep 0.1
done
kill "$pid" 2>/dev/null || true
cannot "sshd did not listen on 127.0.0.1:$port within 10 s: $(cat "$dir/sshd.log")"
