// Id shifting of unprivileged containers: a container sees host id 100000+n as n unless its idmap
// passes n through, so an owner declared "as seen inside" is shifted here, in one place, for the
// hostdirs target, the plan checks and the tests; and reading host folders' owners (`stat`).
import type { LxcGuest } from '../dsl/model.js';

/** Proxmox's default unprivileged base (pve-container: `lxc.idmap = u 0 100000 65536`). */
export const UNPRIVILEGED_BASE = 100000;

export interface HostOwner {
  uid: number;
  gid: number;
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

/** What reading owners asks of a host: a read-only command. */
export interface StatHost {
  read(cmd: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/** Reads the owners of the given host folders with one `stat` (missing ones are absent). */
export async function readHostDirOwners(host: StatHost, paths: string[]): Promise<Map<string, HostOwner>> {
  if (!paths.length) return new Map();
  // stat exits 1 when some path is missing but still prints the others.
  const r = await host.read('stat', [...STAT_ARGS, ...paths]);
  return parseStat(r.stdout);
}
