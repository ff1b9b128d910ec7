#!/usr/bin/env bash
# The acceptance suite in its real-host mode, as CI runs it: PHOENIX_ACCEPTANCE_HOST points at a
# loopback sshd (test/ssh/sshd.sh) whose pct/qm/pvesh are the simulator's. First an interrupted
# run (SIGINT to the whole process group, as Ctrl-C does, once the first guest exists) must leave
# no guest behind; then a full run must pass.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
work=$(mktemp -d)
sim=$work/sim
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export PHOENIX_SIM_SPEED=0 PHOENIX_ACCEPTANCE_VMIDS=99900-99999 PHOENIX_ACCEPTANCE_GPUS=1

# The "node": the simulator with the storages, template and image the acceptance config names.
(cd test/acceptance && PHOENIX_SIM_ROOT=$sim node "$repo/bin/phoenix.js" status --sim >/dev/null)
if ! out=$(bash test/ssh/sshd.sh "$work/ssh" "$sim" "$port"); then
  echo "over-ssh.sh: the loopback sshd cannot run here (see above)" >&2
  exit 1
fi
pid=$(sed -n 's/^PID=//p' <<<"$out")
export PHOENIX_SSH_CONFIG=$(sed -n 's/^SSH_CONFIG=//p' <<<"$out")
export PHOENIX_ACCEPTANCE_HOST=ssh://root@127.0.0.1:$port
stop_sshd() {
  # sshd and its sessions (children of the listener), by pid.
  local kids
  kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
  kill "$pid" $kids 2>/dev/null || true
  rm -rf "$work"
}
trap stop_sshd EXIT

guests() { ls "$sim/etc/pve/nodes/pve/lxc" "$sim/etc/pve/nodes/pve/qemu-server" 2>/dev/null | grep -c '\.conf$' || true; }

echo "== acceptance over ssh: interrupted run"
export PHOENIX_ACCEPTANCE_CLEANUP_LOG=$work/cleanup.log
setsid npx vitest run --config vitest.acceptance.config.ts >"$work/interrupted.log" 2>&1 &
run=$!
for _ in $(seq 600); do
  [ "$(guests)" -gt 0 ] && break
  sleep 0.2
done
echo "guests on the host when interrupted: $(guests)"
kill -INT -- "-$run"
wait "$run" || true
# The clean-up runs on in the background after the suite exits: give it time to finish.
for _ in $(seq 600); do
  [ "$(guests)" = 0 ] && break
  sleep 0.2
done
cat "$PHOENIX_ACCEPTANCE_CLEANUP_LOG" 2>/dev/null || echo "(the interrupted run left no clean-up log)"
left=$(guests)
echo "guests left after the interrupted run: $left"
if [ "$left" != 0 ]; then
  tail -40 "$work/interrupted.log"
  echo "over-ssh.sh: the interrupted acceptance run left $left guests behind" >&2
  exit 1
fi

echo "== acceptance over ssh: full run"
unset PHOENIX_ACCEPTANCE_CLEANUP_LOG
npx vitest run --config vitest.acceptance.config.ts
