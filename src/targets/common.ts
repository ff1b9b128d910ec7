// Helpers shared by the target modules: command results as step failures, guest lookups and
// property-string comparison.
import { createHash } from 'node:crypto';
import type { Guest, LxcGuest, VmGuest, Vmid } from '../dsl/model.js';
import { commandFailure, guestLocked } from '../pve/failure.js';
import {
  type GuestConf,
  parseGuestConf,
  parsePropertyString,
  parseSize,
  serializeGuestConf,
} from '../pve/format/index.js';
import { confPath } from '../pve/host.js';
import type { CommandResult } from '../pve/runner.js';
import type { GuestKind, GuestState } from '../pve/state.js';
import { type Drift, type StepContext, StepError, type TargetContext } from '../runner/types.js';

export const kindOf = (g: Guest): GuestKind => (g.kind === 'lxc' ? 'lxc' : 'vm');
export const tool = (g: Guest): 'pct' | 'qm' => (g.kind === 'lxc' ? 'pct' : 'qm');
export const nodeOf = (ctx: { config: { node: string }; guest: Guest }): string =>
  ctx.guest.node ?? ctx.config.node;
export const isLxc = (g: Guest): g is LxcGuest => g.kind === 'lxc';
export const isVm = (g: Guest): g is VmGuest => g.kind === 'vm';

/** Shows a command for plans and errors (arguments with spaces quoted, secrets hidden). */
export function showCommand(cmd: string, args: string[]): string {
  const shown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const prev = args[i - 1];
    if (prev === '--cipassword' || prev === '--password') shown.push('<hidden>');
    else if (prev === '--description') shown.push('<notes>');
    else if (/^[\w@%+=:,./-]+$/.test(a)) shown.push(a);
    else shown.push(JSON.stringify(a.length > 60 ? `${a.slice(0, 57)}...` : a));
  }
  return [cmd, ...shown].join(' ');
}

/**
 * A clean shutdown that ends stopped in any case: the guest gets `timeout` seconds to shut down,
 * then is stopped hard (`--forceStop 1`; pve-container API2/LXC/Status.pm vm_shutdown, qemu-server
 * API2/Qemu.pm vm_shutdown). `pct stop` would kill it outright (lxc-stop --kill).
 */
export function shutdownArgs(vmid: number | string, timeoutS: number): string[] {
  return ['shutdown', String(vmid), '--timeout', String(timeoutS), '--forceStop', '1'];
}

/**
 * Runs a mutating command and fails the step (with the stderr) when it exits non-zero. `wrap`
 * sends it inside another host call (births.ts `withBirthRecord`); logs and errors show `cmd args`.
 */
export async function must(
  ctx: StepContext,
  cmd: string,
  args: string[],
  input?: string,
  wrap?: (cmd: string, args: string[]) => [string, string[]],
): Promise<CommandResult> {
  const [runCmd, runArgs] = wrap ? wrap(cmd, args) : [cmd, args];
  const shown = showCommand(cmd, args);
  ctx.log(`$ ${shown}`);
  const r = await ctx.host.run(runCmd, runArgs, {
    onLine: (line) => ctx.log(line),
    ...(input !== undefined ? { input } : {}),
  });
  if (r.exitCode !== 0) {
    const detail = lastLines(r.stderr || r.stdout, 1);
    throw StepError.fromCommand(
      `${shown} failed (${r.signal ? `killed by signal ${r.signal}` : `exit ${r.exitCode}`})${detail ? `: ${detail}` : ''}`,
      shown,
      r,
    );
  }
  return r;
}

export function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-n)
    .join('\n');
}

/** Re-reads the guest after a step; fails when it vanished. */
export async function reread(ctx: StepContext, status = ctx.gs?.status ?? 'unknown'): Promise<GuestState> {
  const gs = await ctx.host.readGuest(ctx.guest.vmid, kindOf(ctx.guest), nodeOf(ctx), status);
  if (!gs) throw new StepError(`guest ${ctx.guest.vmid} does not exist after the step`);
  return gs;
}

/**
 * Tags as Proxmox stores them: lower-cased, sorted, without repeats (pve-guest-common
 * GuestHelpers.pm:349-378 `get_unique_tags`, applied on every `pct set`/`qm set`, pve-container
 * LXC/Config.pm:1358, qemu-server API2/Qemu.pm:2496). Compared case-blind on both sides, so a
 * datacenter with `tag-style case-sensitive` does not read as drift either.
 */
export function canonicalTags(tags: string | readonly string[] | undefined): string {
  const list = typeof tags === 'string' ? tags.split(/[;, ]+/) : (tags ?? []);
  return [...new Set(list.filter(Boolean).map((t) => t.toLowerCase()))].sort().join(';');
}

/** Compares two property strings by the keys the declaration sets (host extras ignored). */
export function propsDiffer(host: string | undefined, declared: string, defaultKey?: string): boolean {
  if (host === undefined) return true;
  const h = parsePropertyString(host, defaultKey);
  const d = parsePropertyString(declared, defaultKey);
  if (!h.ok || !d.ok) return host !== declared;
  const norm = (v: string | undefined) => (v === undefined ? undefined : v.toLowerCase());
  for (const [k, v] of Object.entries(d.value)) if (norm(h.value[k]) !== norm(v)) return true;
  return false;
}

/** Drifts for a map of declared values against a host section (`undefined` declared = not managed). */
export function valueDrifts(
  host: Record<string, string>,
  declared: Record<string, string | undefined>,
  compare: (key: string, host: string | undefined, declared: string) => boolean,
  restartKeys: ReadonlySet<string>,
  running: boolean,
): Drift[] {
  const drifts: Drift[] = [];
  for (const [key, want] of Object.entries(declared)) {
    if (want === undefined) continue;
    const have = host[key];
    if (compare(key, have, want)) {
      const d: Drift = { field: key, host: have, declared: want };
      if (running && restartKeys.has(key)) d.needsRestart = true;
      drifts.push(d);
    }
  }
  return drifts;
}

/** The size in bytes of a guest's volume property (`rootfs`, `scsi0`), when it names one. */
export function volumeSize(gs: GuestState | undefined, key: string, defaultKey: string): number | undefined {
  const value = gs?.current.props[key];
  if (!value) return undefined;
  const p = parsePropertyString(value, defaultKey);
  return p.ok && p.value.size ? parseSize(p.value.size) : undefined;
}

export function guestOrMissing(ctx: TargetContext): GuestState | undefined {
  return ctx.gs;
}

export function sourceGuest(ctx: TargetContext): { vmid: Vmid; gs: GuestState | undefined } | undefined {
  const src = ctx.guest.cloneFrom;
  if (src === undefined) return undefined;
  return { vmid: src, gs: ctx.state.guests.get(src) };
}

/** pve-container src/PVE/LXC/Config.pm:34,53-57 `config_file_lock`: the file `lock_config` flocks. */
export const ctConfigLock = (vmid: Vmid | number): string => `/run/lock/lxc/pve-config-${vmid}.lock`;

/** How long flock waits for the config lock: `lock_file_full`'s default (pve-common src/PVE/Tools.pm:206). */
const CONF_LOCK_WAIT_S = 10;
/** flock's exit code when the wait ran out (`-E`; util-linux sys-utils/flock.c:224,424-429). */
const CONF_LOCK_TIMEOUT = 75;
/** The script's exit code when the file is no longer what Phoenix read. */
const CONF_CHANGED = 3;
/**
 * Compare-and-swap, run under the flock: `$1` is the config, `$2` the sha256 of the text Phoenix
 * read, stdin the new text. Like PVE's own `file_set_contents` (pve-common src/PVE/Tools.pm:282)
 * it writes `<file>.tmp.<pid>` and renames it over the file, which pmxcfs allows (pve-cluster
 * data/src/memdb.c `memdb_rename`).
 */
const CONF_SWAP =
  'have=$(sha256sum < "$1") || exit 4; case $have in "$2 "*) ;; *) exit 3 ;; esac; ' +
  'tmp="$1.tmp.$$"; cat > "$tmp" && mv -f -- "$tmp" "$1" || { rm -f -- "$tmp"; exit 4; }';

/**
 * Replaces a CT config `read` from `path` by `next` in one host call, holding the flock pct and
 * vzdump take for it (`flock(1)` on `/run/lock/lxc/pve-config-<id>.lock`, the file
 * `lock_file_full` flocks, pve-common src/PVE/Tools.pm:203-230): a writer that got in between the
 * read and now makes it write nothing.
 */
async function writeConfUnderLock(ctx: StepContext, path: string, read: string, next: string): Promise<void> {
  const lock = ctConfigLock(ctx.guest.vmid);
  const digest = createHash('sha256').update(read, 'utf8').digest('hex');
  const args = ['-w', String(CONF_LOCK_WAIT_S), '-E', String(CONF_LOCK_TIMEOUT), lock, 'sh', '-c', CONF_SWAP];
  args.push('sh', ctx.host.mapPath(path), digest);
  ctx.log(`write ${path} under ${lock}`);
  const r = await ctx.host.run('flock', args, { input: next, onLine: (line) => ctx.log(line) });
  if (r.exitCode === 0) return;
  if (r.exitCode === CONF_LOCK_TIMEOUT)
    throw new StepError(
      `${path}: Proxmox's config lock ${lock} is still held after ${CONF_LOCK_WAIT_S} s; re-run`,
    );
  if (r.exitCode === CONF_CHANGED)
    throw new StepError(`${path} changed meanwhile (another writer); nothing written, re-run`);
  throw new StepError(
    `cannot write ${path}: ${(r.transport ?? r.stderr).trim() || `exit ${r.exitCode}`}`,
    undefined,
    undefined,
    commandFailure(r),
  );
}

/**
 * Edits a CT's config file by hand — only for raw `lxc.*` lines, which pct cannot set (the API
 * refuses `lxc.*` keys; pve-container LXC/Config.pm parses them only from the file). The write
 * runs under Proxmox's own config lock (see `writeConfUnderLock`), so it never loses a concurrent
 * pct/vzdump/HA write: when the file changed since it was read, nothing is written and the step
 * asks for a re-run. The CT is shut down first, the edit is refused when Proxmox holds a `lock:`
 * on it, and the file is re-read after the write: `check` names what did not stick. A CT that was
 * running is started again. Returns the power state it leaves.
 */
export async function editStoppedConf(
  ctx: StepContext,
  edit: (conf: GuestConf) => void,
  check: (gs: GuestState) => string | undefined,
): Promise<'running' | 'stopped'> {
  const vmid = String(ctx.guest.vmid);
  const path = confPath(nodeOf(ctx), 'lxc', ctx.guest.vmid);
  const wasRunning = ctx.gs?.status === 'running';
  if (wasRunning) await must(ctx, 'pct', shutdownArgs(vmid, ctx.limits.shutdownTimeoutS));
  const text = await ctx.host.readFile(path);
  if (text === undefined) throw new StepError(`CT ${vmid} does not exist (${path} is gone)`);
  const conf = parseGuestConf(text, 'lxc');
  const lock = conf.main.props.lock;
  if (lock)
    throw new StepError(
      `CT ${vmid} is locked (${lock}); not editing ${path}`,
      undefined,
      undefined,
      guestLocked(lock),
    );
  edit(conf);
  // A value with a line break would add lines of its own (an lxc.hook.* runs as root on the node).
  const broken = conf.main.lxc.find(([k, v]) => /[\r\n]/.test(k + v));
  if (broken)
    throw new StepError(`CT ${vmid}: refusing to write ${broken[0]}: its value contains a line break`);
  await writeConfUnderLock(ctx, path, text, serializeGuestConf(conf, 'lxc'));
  const after = await reread(ctx, 'stopped');
  const bad = check(after);
  if (bad) throw new StepError(`${path}: ${bad} did not stick (another writer raced the edit?)`);
  if (wasRunning) {
    await must(ctx, 'pct', ['start', vmid]);
    return 'running';
  }
  return 'stopped';
}
