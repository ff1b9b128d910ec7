// LXC `hostdirs`: the host folders behind a container's bind mounts exist with the owner the
// container will see (the owner declared "as seen inside", shifted by pve/idshift.ts). Runs before
// `storage` attaches the mounts. Observed on the host when the bulk read fetched the owners
// (`state.hostDirs`, one `stat` for the whole fleet); otherwise judged by its stamp (the declared
// folders and owners). Two guests wanting different owners of one folder is a plan problem.
import type { Config, LxcGuest } from '../dsl/model.js';
import { type HostOwner, hostIdFor, parseStat, readHostDirOwners } from '../pve/idshift.js';
import type { Drift, Observation } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import { type Ctx, defineTarget, type StepCtx } from './define.js';

export interface HostDir extends HostOwner {
  path: string;
  /** The owner was declared (`owner:`); otherwise the container's root is assumed. */
  declared: boolean;
}

/** The host folders a guest's bind mounts need, with the host-side owner. */
export function declaredHostDirs(g: LxcGuest): HostDir[] {
  return g.mounts.map((m) => {
    const owner = m.owner ?? { uid: 0, gid: 0 };
    return {
      path: m.hostPath,
      uid: hostIdFor(g, 'uid', owner.uid),
      gid: hostIdFor(g, 'gid', owner.gid),
      declared: m.owner !== undefined,
    };
  });
}

/** Every host folder the config needs (read once per build). */
export function hostDirPaths(config: Config): string[] {
  const out = new Set<string>();
  for (const g of config.guests.values()) if (g.kind === 'lxc') for (const m of g.mounts) out.add(m.hostPath);
  return [...out].sort();
}

/**
 * Two guests asking for different host owners of one folder: whichever is built last would
 * win, and the other container sees `nobody`. Reported as plan problems.
 */
export function hostDirConflicts(config: Config): string[] {
  const byPath = new Map<string, Array<{ vmid: number; owner: string }>>();
  for (const g of config.guests.values()) {
    if (g.kind !== 'lxc') continue;
    for (const d of declaredHostDirs(g)) {
      if (!d.declared) continue;
      const list = byPath.get(d.path) ?? [];
      list.push({ vmid: g.vmid, owner: `${d.uid}:${d.gid}` });
      byPath.set(d.path, list);
    }
  }
  const problems: string[] = [];
  for (const [p, list] of byPath) {
    const owners = new Set(list.map((l) => l.owner));
    if (owners.size > 1) {
      problems.push(
        `host folder ${p}: guests want different host owners (${list.map((l) => `${l.vmid} → ${l.owner}`).join(', ')}); give them the same owner (as seen on the host)`,
      );
    }
  }
  return problems;
}

/**
 * Drifts of a guest's host folders against what the host has (`owners` from one `stat`).
 * `owners` undefined = not read: nothing is reported. A folder without a declared owner only has
 * to exist (its owner is the user's business).
 */
export function hostDirDrifts(g: LxcGuest, owners: Map<string, HostOwner> | undefined): Drift[] {
  if (!owners) return [];
  const drifts: Drift[] = [];
  for (const d of declaredHostDirs(g)) {
    const have = owners.get(d.path);
    const want = `${d.uid}:${d.gid}`;
    if (!have) drifts.push({ field: `host folder ${d.path}`, host: 'missing', declared: want });
    else if (d.declared && (have.uid !== d.uid || have.gid !== d.gid))
      drifts.push({ field: `host folder ${d.path}`, host: `${have.uid}:${have.gid}`, declared: want });
  }
  return drifts;
}

/** What a host may be asked: a mutating command and a read-only one (StepHost satisfies it). */
export interface DirHost {
  run(cmd: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  read(cmd: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/** The commands that make the folders hold: one `mkdir -p`, one `chown` per distinct owner. */
export function hostDirCommands(dirs: HostDir[], owners: Map<string, HostOwner>): Array<[string, string[]]> {
  const cmds: Array<[string, string[]]> = [];
  const missing = dirs.filter((d) => !owners.has(d.path)).map((d) => d.path);
  if (missing.length) cmds.push(['mkdir', ['-p', '--', ...new Set(missing)]]);
  const byOwner = new Map<string, string[]>();
  for (const d of dirs) {
    const have = owners.get(d.path);
    // A new folder gets its owner even when none was declared (the container's root), so the
    // container can write to it; an existing one is only changed when an owner was declared.
    const needs = have ? d.declared && (have.uid !== d.uid || have.gid !== d.gid) : true;
    if (!needs) continue;
    const key = `${d.uid}:${d.gid}`;
    byOwner.set(key, [...(byOwner.get(key) ?? []), d.path]);
  }
  for (const [owner, paths] of byOwner) cmds.push(['chown', [owner, '--', ...new Set(paths)]]);
  return cmds;
}

function ownersOf(known: Map<string, HostOwner>, paths: string[]): Map<string, HostOwner> {
  const out = new Map<string, HostOwner>();
  for (const p of paths) {
    const o = known.get(p);
    if (o) out.set(p, o);
  }
  return out;
}

/**
 * Makes a guest's host folders hold (create, chown), then re-reads them: returns the drifts
 * left (empty = done) and whether anything was changed.
 */
export async function ensureHostDirs(
  host: DirHost,
  g: LxcGuest,
  log: (line: string) => void = () => {},
  /** Owners already read in this run (the bulk state read stats every folder of the config). */
  known?: Map<string, HostOwner>,
): Promise<{ changed: boolean; left: Drift[]; owners: Map<string, HostOwner>; error?: string }> {
  const dirs = declaredHostDirs(g);
  if (!dirs.length) return { changed: false, left: [], owners: new Map() };
  const paths = [...new Set(dirs.map((d) => d.path))];
  const before = known ? ownersOf(known, paths) : await readHostDirOwners(host, paths);
  const cmds = hostDirCommands(dirs, before);
  // Nothing to change: the owners just read are the answer (no second `stat`).
  if (!cmds.length) return { changed: false, left: hostDirDrifts(g, before), owners: before };
  for (const [cmd, args] of cmds) log(`$ ${cmd} ${args.join(' ')}`);
  // The changes and the re-read in one host call: a folder whose chown succeeded but whose owner
  // still differs (a symlink, a file system that maps owners) must fail the step, not pass it.
  const r = await host.run('sh', [
    '-c',
    HOST_DIRS_SCRIPT,
    'phoenix-hostdirs',
    ...scriptArgs(cmds),
    '--',
    ...paths,
  ]);
  if (r.exitCode !== 0)
    return {
      changed: true,
      left: [],
      owners: before,
      error: `${cmds.map(([c, a]) => `${c} ${a.join(' ')}`).join('; ')} failed (exit ${r.exitCode}): ${r.stderr.trim()}`,
    };
  const after = parseStat(r.stdout);
  return { changed: true, left: hostDirDrifts(g, after), owners: after };
}

// Host folders made to hold in one host call: `mkdir <path>` and `chown <owner> <path>` words,
// `--`, then the folders to `stat`. The first failure ends it (its tool's message on stderr);
// stat's exit 1 (a folder still missing) is not a failure here: the drift says it.
export const HOST_DIRS_SCRIPT = [
  'while [ "$1" != -- ]; do',
  '  case $1 in',
  '    mkdir) mkdir -p -- "$2" || exit $?; shift 2 ;;',
  '    chown) chown "$2" -- "$3" || exit $?; shift 3 ;;',
  '    *) echo "phoenix-hostdirs: unknown word $1" >&2; exit 2 ;;',
  '  esac',
  'done',
  'shift',
  'stat -c \'%u:%g %n\' -- "$@"',
  'exit 0',
].join('\n');

function scriptArgs(cmds: Array<[string, string[]]>): string[] {
  const out: string[] = [];
  for (const [cmd, args] of cmds) {
    const paths = args.slice(args.indexOf('--') + 1);
    if (cmd === 'mkdir') for (const p of paths) out.push('mkdir', p);
    else for (const p of paths) out.push('chown', args[0]!, p);
  }
  return out;
}
function observe(ctx: Ctx<LxcGuest>): Observation {
  if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  const owners = ctx.state.hostDirs;
  if (!owners) {
    // Not observable from this read: the stamp decides (no stamp = never made).
    return ctx.stamps.targets.hostdirs
      ? { kind: 'ok' }
      : { kind: 'missing', detail: 'host folders not made yet' };
  }
  const drifts = hostDirDrifts(ctx.guest, owners);
  return drifts.length ? { kind: 'drift', drifts } : { kind: 'ok' };
}

async function run(ctx: StepCtx<LxcGuest>) {
  const g = ctx.guest;
  // The state read (kept current by earlier hostdirs steps under `host:dirs`) knows the owners.
  const known = ctx.state.hostDirs;
  const r = await ensureHostDirs(ctx.host, g, ctx.log, known);
  // Other guests sharing a folder are judged on the state read before this step: update it.
  if (known) for (const [p, o] of r.owners) known.set(p, o);
  if (r.error) throw new StepError(r.error);
  if (r.left.length) {
    throw new StepError(
      `host folders of ${g.vmid} still differ after mkdir/chown: ${r.left.map((d) => `${d.field}: ${d.host} (want ${d.declared})`).join('; ')}`,
    );
  }
  return { changed: r.changed };
}

export const hostDirs = defineTarget<LxcGuest>({
  kind: 'hostdirs',
  guest: 'lxc',
  when: (g) => g.mounts.length > 0,
  needs: (_g, made) => made.first('idmap', 'config'),
  stamp: 'optional',
  inputs: ({ guest: g }) => ({
    dirs: declaredHostDirs(g).map((d) => `${d.path} ${d.uid}:${d.gid}${d.declared ? '' : '?'}`),
  }),
  observe,
  describe: ({ guest: g }) =>
    `mkdir -p / chown the host folders: ${declaredHostDirs(g)
      .map((d) => `${d.path} (${d.uid}:${d.gid})`)
      .join(', ')}`,
  locks: ({ guest: g }) => [`guest:${g.vmid}`, 'host:dirs'],
  apply: run,
  preflight: hostDirConflicts,
});
