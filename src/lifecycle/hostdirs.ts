// Host folders behind bind mounts: created with the owner the container will see. An
// unprivileged container sees host id 100000+n as n unless its idmap passes n through, so the
// owner declared "as seen inside" is shifted here, in one place, for the storage step, the plan
// checks and the tests. Pure functions plus one host call (`mkdir`, `chown` and the `stat` verifying them).
import type { Config, LxcGuest } from '../dsl/model.js';
import type { Drift } from '../runner/types.js';

/** Proxmox's default unprivileged base (pve-container: `lxc.idmap = u 0 100000 65536`). */
export const UNPRIVILEGED_BASE = 100000;

export interface HostOwner {
  uid: number;
  gid: number;
}

export interface HostDir extends HostOwner {
  path: string;
  /** The owner was declared (`owner:`); otherwise the container's root is assumed. */
  declared: boolean;
}

/** The host id a container id maps to, for this guest's map. */
export function hostIdFor(g: LxcGuest, type: 'uid' | 'gid', containerId: number): number {
  if (!g.unprivileged && g.idmap.length === 0) return containerId;
  for (const d of g.idmap) {
    if (d.type === type && containerId >= d.containerId && containerId < d.containerId + d.size)
      return d.hostId + (containerId - d.containerId);
  }
  return UNPRIVILEGED_BASE + containerId;
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

/** Parses `stat -c '%u:%g %n' -- paths...` output (missing paths print nothing on stdout). */
export function parseStat(stdout: string): Map<string, HostOwner> {
  const out = new Map<string, HostOwner>();
  for (const line of stdout.split('\n')) {
    const m = /^(\d+):(\d+) (.+)$/.exec(line.trimEnd());
    if (m) out.set(m[3]!, { uid: Number(m[1]), gid: Number(m[2]) });
  }
  return out;
}

export const STAT_ARGS = ['-c', '%u:%g %n', '--'];

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

/** Reads the owners of the given host folders with one `stat` (missing ones are absent). */
export async function readHostDirOwners(host: DirHost, paths: string[]): Promise<Map<string, HostOwner>> {
  if (!paths.length) return new Map();
  // stat exits 1 when some path is missing but still prints the others.
  const r = await host.read('stat', [...STAT_ARGS, ...paths]);
  return parseStat(r.stdout);
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
