// Simulated host `flock(1)` (util-linux sys-utils/flock.c), for the one use a Proxmox host has for
// it from outside: taking a guest's config lock, the very flock pct/qm take in `lock_config`
// (pve-container src/PVE/LXC/Config.pm:34,53-57 `/run/lock/lxc/pve-config-<id>.lock`; qemu-server
// `/var/lock/qemu-server/lock-<id>.conf`; both through pve-common src/PVE/Tools.pm:203
// `lock_file_full`). Here it takes the simulator's own lock of that guest (src/sim/lock.ts, the one
// `pct set` takes), runs the command, releases. Any other lock file is not simulated: it fails
// loudly rather than pretend to serialise with something.
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import type { Ctx } from './context.js';
import { SimGap } from './errors.js';
import { LockTimeout, withFileLock } from './lock.js';

const EX_USAGE = 64;
const EX_UNAVAILABLE = 69;

function usage(ctx: Ctx, msg: string): void {
  ctx.io.err(`flock: ${msg}\nTry 'flock --help' for more information.\n`);
  ctx.exit = EX_USAGE; // flock.c:262 strutils_set_exitcode(EX_USAGE)
}

/** The guest whose config lock `path` is, or undefined. */
export function configLockOf(path: string): { kind: 'lxc' | 'qemu'; vmid: number } | undefined {
  const ct = /^\/run\/lock\/lxc\/pve-config-([1-9]\d*)\.lock$/.exec(path);
  if (ct) return { kind: 'lxc', vmid: Number(ct[1]) };
  const vm = /^\/var\/lock\/qemu-server\/lock-([1-9]\d*)\.conf$/.exec(path);
  if (vm) return { kind: 'qemu', vmid: Number(vm[1]) };
  return undefined;
}

/**
 * `flock [-x|-s] [-w SECS] [-E CODE] FILE COMMAND [ARG...]` / `FILE -c COMMAND`. The exit code is
 * the command's (128 + signal when killed, flock.c:505-508); a lock not got within -w exits with
 * the conflict code (default 1) and prints nothing without --verbose (flock.c:224,424-429).
 */
export function flockMain(ctx: Ctx, argv: string[]): void {
  let timeoutS: number | undefined;
  let shared = false;
  let conflict = 1;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const m = /^(-w|--wait|--timeout|-E|--conflict-exit-code)(?:=(.*))?$/.exec(a);
    if (m) {
      const v = m[2] ?? argv[++i];
      const n = Number(v);
      if (v === undefined || v === '' || !Number.isFinite(n) || n < 0) {
        usage(
          ctx,
          m[1]!.includes('w') || m[1] === '--timeout' ? `invalid timeout: '${v ?? ''}'` : 'invalid exit code',
        );
        return;
      }
      if (m[1] === '-E' || m[1] === '--conflict-exit-code') conflict = n;
      else timeoutS = n;
    } else if (a === '-x' || a === '-e' || a === '--exclusive') shared = false;
    else if (a === '-s' || a === '--shared') shared = true;
    else throw new SimGap(`flock option ${a} is not simulated`);
  }
  const file = argv[i];
  let cmd = argv.slice(i + 1);
  if (file === undefined) {
    usage(ctx, 'missing file descriptor, file or directory');
    return;
  }
  if (cmd[0] === '-c' || cmd[0] === '--command') {
    if (cmd.length !== 2) {
      usage(ctx, `${cmd[0]} requires exactly one command argument`);
      return;
    }
    cmd = ['/bin/sh', '-c', cmd[1]!];
  }
  if (cmd.length === 0) {
    usage(ctx, 'missing command');
    return;
  }
  const guest = configLockOf(file);
  if (!guest) throw new SimGap(`flock on ${file} is not simulated (only guest config locks are)`);
  // No -w: flock waits forever; the simulator's lock needs a bound, so a day stands for it.
  const wait = timeoutS ?? 86_400;
  try {
    ctx.exit = withFileLock(
      ctx.io,
      ctx.host.hostPath(file),
      file,
      wait,
      shared,
      () => runChild(ctx, cmd),
      true,
    );
  } catch (e) {
    if (!(e instanceof LockTimeout)) throw e;
    ctx.exit = conflict;
  }
}

function runChild(ctx: Ctx, cmd: string[]): number {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: 'inherit' });
  if (r.error) {
    ctx.io.err(`flock: failed to execute ${cmd[0]}: ${(r.error as NodeJS.ErrnoException).code}\n`);
    return EX_UNAVAILABLE; // flock.c:152-157
  }
  if (r.signal) return 128 + (constants.signals[r.signal] ?? 0);
  return r.status ?? 1;
}
