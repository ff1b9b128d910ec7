// The host interface: everything Phoenix asks of a Proxmox node. Reads of the whole fleet cost
// a constant number of round trips (one grep over /etc/pve for every config and firewall file,
// one status list per node and kind, one storage list per node), never one `pct config` per
// guest. Mutations are Proxmox commands with argument arrays. Local node, SSH and simulator only
// differ in the CommandRunner underneath.
import { hostname } from 'node:os';
import type { ContentType, Vmid } from '../dsl/model.js';
import { BIRTHS_DIR, parseBirthLine } from './births.js';
import { parseGuestConf, withPendingApplied } from './format/index.js';
import type { CommandResult, CommandRunner, RunOptions } from './runner.js';
import {
  emptyHostState,
  type GuestKind,
  type GuestState,
  type HostState,
  type PowerStatus,
  type StorageState,
} from './state.js';

export interface ReadNeeds {
  /** Nodes whose guests, statuses and storages are read. */
  nodes: string[];
  /** Storages (per node) whose content is listed, to check OS templates and cloud images exist. */
  listContent: Array<{ node: string; storage: string }>;
  /** Read /etc/subuid and /etc/subgid (some guest declares an idmap). */
  idFiles?: boolean;
  /** Host folders behind bind mounts whose owners are read (one `stat` for all). */
  hostDirs?: string[];
}

// `stat -c '%u:%g %n' -- paths...`: one line per existing path (missing ones go to stderr).
const STAT_ARGS = ['-c', '%u:%g %n', '--'];

function parseStat(stdout: string): Map<string, { uid: number; gid: number }> {
  const out = new Map<string, { uid: number; gid: number }>();
  for (const line of stdout.split('\n')) {
    const m = /^(\d+):(\d+) (.+)$/.exec(line.trimEnd());
    if (m) out.set(m[3]!, { uid: Number(m[1]), gid: Number(m[2]) });
  }
  return out;
}

/** A Proxmox worker task (UPID), as `pvesh get /nodes/<node>/tasks` lists it. */
export interface ActiveTask {
  upid: string;
  /** Worker type: vzcreate, vzclone, qmclone… */
  type: string;
  /** The guest the task is about; for a clone, the source. */
  id: string;
  node: string;
}

export type ReadResult = { ok: true; value: HostState } | { ok: false; error: string };

export const BUILD_LOCK = '/run/lock/phoenix-build.lock';

export function confPath(node: string, kind: GuestKind, vmid: Vmid): string {
  return `/etc/pve/nodes/${node}/${kind === 'lxc' ? 'lxc' : 'qemu-server'}/${vmid}.conf`;
}

const CONF_LINE = /^(.*\/etc\/pve\/nodes\/([^/]+)\/(lxc|qemu-server)\/(\d+)\.conf):(.*)$/;
const FW_LINE = /^(.*\/etc\/pve\/firewall\/(\d+)\.fw):(.*)$/;

export class Host {
  constructor(readonly runner: CommandRunner) {}

  get label(): string {
    return this.runner.label;
  }

  /** Reads every guest's config, status and stamps, plus what planning checks need. O(1) round trips. */
  async readState(needs: ReadNeeds): Promise<ReadResult> {
    const state = emptyHostState();
    // All reads are independent: issue them together (a few round trips' latency, not their sum).
    type Json = { ok: true; value: unknown } | { ok: false; error: string };
    const perNode = needs.nodes.map((node) => ({
      node,
      lxc: this.pveshJson(['get', `/nodes/${node}/lxc`]),
      qemu: this.pveshJson(['get', `/nodes/${node}/qemu`]),
      storage: this.pveshJson(['get', `/nodes/${node}/storage`]),
    }));
    const contents = needs.listContent.map((c) => ({
      ...c,
      list: this.pveshJson(['get', `/nodes/${c.node}/storage/${c.storage}/content`]),
    }));
    const idFiles = needs.idFiles
      ? Promise.all([
          this.runner.readFile('/etc/subuid').catch(() => undefined),
          this.runner.readFile('/etc/subgid').catch(() => undefined),
        ])
      : undefined;
    const dirs = needs.hostDirs?.length
      ? this.runner.run('stat', [...STAT_ARGS, ...needs.hostDirs])
      : undefined;
    const [grep, nodes] = await Promise.all([
      this.runner.run('grep', [
        '-rH',
        '--include=*.conf',
        '--include=*.fw',
        '--include=*.json',
        '',
        this.runner.mapPath('/etc/pve/nodes'),
        this.runner.mapPath('/etc/pve/firewall'),
        this.runner.mapPath(BIRTHS_DIR),
      ]),
      this.pveshJson(['get', '/nodes']),
    ]);
    // grep: 1 = nothing matched (no guests), 2 = a folder is missing (no firewall files or
    // birth records yet).
    if (grep.exitCode > 2) return { ok: false, error: `cannot read /etc/pve: ${grep.stderr.trim()}` };
    if (!nodes.ok) return nodes;
    state.nodes = (nodes.value as Array<{ node?: string }>).map((n) => String(n.node ?? '')).filter(Boolean);

    const files = new Map<string, { node: string; kind: GuestKind; vmid: Vmid; lines: string[] }>();
    const fw = new Map<Vmid, string[]>();
    for (const line of grep.stdout.split('\n')) {
      const c = CONF_LINE.exec(line);
      if (c) {
        const key = c[1]!;
        let f = files.get(key);
        if (!f) {
          f = { node: c[2]!, kind: c[3] === 'lxc' ? 'lxc' : 'vm', vmid: Number(c[4]), lines: [] };
          files.set(key, f);
        }
        f.lines.push(c[5]!);
        continue;
      }
      const w = FW_LINE.exec(line);
      if (w) {
        const vmid = Number(w[2]);
        const lines = fw.get(vmid) ?? [];
        lines.push(w[3]!);
        fw.set(vmid, lines);
        continue;
      }
      const birth = parseBirthLine(line);
      if (birth) state.births.set(birth.vmid, birth);
    }
    for (const [vmid, lines] of fw) state.firewall.set(vmid, `${lines.join('\n')}\n`);

    const live = new Map<Vmid, { status: PowerStatus; lock?: string }>();
    for (const p of perNode) {
      const [lxc, qemu, storages] = (await Promise.all([p.lxc, p.qemu, p.storage])) as Json[];
      // Calls about a node the cluster does not have fail; planning names the missing node.
      if (!state.nodes.includes(p.node)) continue;
      for (const list of [lxc!, qemu!]) {
        if (!list.ok) return list;
        for (const entry of list.value as Array<Record<string, unknown>>) {
          const status = entry.status === 'running' || entry.status === 'stopped' ? entry.status : 'unknown';
          const lock = typeof entry.lock === 'string' ? entry.lock : undefined;
          live.set(Number(entry.vmid), lock ? { status, lock } : { status });
        }
      }
      if (!storages!.ok) return storages!;
      const map = new Map<string, StorageState>();
      for (const s of storages!.value as Array<Record<string, unknown>>) {
        const id = String(s.storage ?? '');
        map.set(id, {
          id,
          type: String(s.type ?? ''),
          content: String(s.content ?? '')
            .split(',')
            .filter(Boolean) as ContentType[],
          enabled: s.enabled === undefined ? true : Number(s.enabled) === 1,
          active: s.active === undefined ? true : Number(s.active) === 1,
        });
      }
      state.storages.set(p.node, map);
    }
    for (const c of contents) {
      const content = (await c.list) as Json;
      if (!state.storages.get(c.node)?.has(c.storage)) continue;
      if (!content.ok) return content;
      const set = state.volumes.get(c.node) ?? new Set<string>();
      for (const v of content.value as Array<{ volid?: string }>) if (v.volid) set.add(v.volid);
      state.volumes.set(c.node, set);
    }
    if (dirs) {
      // stat exits 1 when some path is missing but still prints the others.
      const r = await dirs;
      if (r.exitCode > 1) return { ok: false, error: `cannot stat the host folders: ${r.stderr.trim()}` };
      state.hostDirs = parseStat(r.stdout);
    }
    if (idFiles) {
      const [uid, gid] = await idFiles;
      state.subids = { uid: uid ?? '', gid: gid ?? '' };
    }

    for (const f of files.values()) {
      const gs = guestFromText(f.vmid, f.kind, f.node, `${f.lines.join('\n')}\n`);
      const l = live.get(f.vmid);
      if (l) {
        gs.status = l.status;
        if (l.lock) gs.lock = l.lock;
      }
      state.guests.set(f.vmid, gs);
    }
    return { ok: true, value: state };
  }

  /**
   * Proxmox worker tasks still running on the nodes. Asked only when some guest carries a
   * `lock:`: a lock with a live task behind it is work in progress, not debris. The active list
   * (`pvesh get /nodes/<n>/tasks --source active`) keeps a killed task as RUNNING until pvestatd
   * notices (up to ~10 s); only `/tasks/<upid>/status` checks the worker's pid, so each listed
   * task about one of `ids` is confirmed there (one call each; the others are not asked about).
   */
  async activeTasks(
    nodes: string[],
    ids: Set<string>,
  ): Promise<{ ok: true; value: ActiveTask[] } | { ok: false; error: string }> {
    const lists = await Promise.all(
      nodes.map((node) =>
        // `--limit 0` returns nothing on Proxmox: ask for more than a node ever runs at once.
        this.pveshJson(['get', `/nodes/${node}/tasks`, '--source', 'active', '--limit', '500']),
      ),
    );
    const listed: ActiveTask[] = [];
    for (const [i, list] of lists.entries()) {
      if (!list.ok) return list;
      for (const t of (list.value ?? []) as Array<Record<string, unknown>>) {
        // Ended tasks stay in the active file for a while, with their end status.
        if (t.status !== undefined && String(t.status).toUpperCase() !== 'RUNNING') continue;
        if (!ids.has(String(t.id ?? ''))) continue;
        listed.push({
          upid: String(t.upid ?? ''),
          type: String(t.type ?? ''),
          id: String(t.id ?? ''),
          node: String(t.node ?? nodes[i]),
        });
      }
    }
    const confirmed = await Promise.all(
      listed.map((t) =>
        this.pveshJson<{ status?: string }>(['get', `/nodes/${t.node}/tasks/${t.upid}/status`]),
      ),
    );
    const out: ActiveTask[] = [];
    for (const [i, c] of confirmed.entries()) {
      // A task that vanished between the two reads has ended.
      if (c.ok && c.value?.status === 'running') out.push(listed[i]!);
    }
    return { ok: true, value: out };
  }

  /** Re-reads one guest's config file: verifies a step's effect. Status comes from `known`. */
  async readGuest(
    vmid: Vmid,
    kind: GuestKind,
    node: string,
    known: PowerStatus,
  ): Promise<GuestState | undefined> {
    const text = await this.runner.readFile(confPath(node, kind, vmid));
    if (text === undefined) return undefined;
    const gs = guestFromText(vmid, kind, node, text);
    gs.status = gs.template ? 'stopped' : known;
    return gs;
  }

  /** A mutating command. */
  run(cmd: string, args: string[], opts?: RunOptions): Promise<CommandResult> {
    return this.runner.run(cmd, args, { ...opts, mutating: true });
  }

  /** A read-only command. */
  read(cmd: string, args: string[]): Promise<CommandResult> {
    return this.runner.run(cmd, args, { mutating: false });
  }

  private async pveshJson<T = unknown>(
    args: string[],
  ): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
    const r = await this.runner.run('pvesh', [...args, '--output-format', 'json']);
    if (r.exitCode !== 0)
      return { ok: false, error: `pvesh ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.exitCode}`}` };
    try {
      return { ok: true, value: JSON.parse(r.stdout || 'null') as T };
    } catch {
      return { ok: false, error: `pvesh ${args.join(' ')}: output is not JSON` };
    }
  }

  /**
   * Takes the host-side build lock. A lock left by a dead process of this machine is taken
   * over (with a message); a live or foreign one refuses, naming its owner.
   */
  async acquireLock(): Promise<{ ok: true; note?: string } | { ok: false; error: string }> {
    const me = { pid: process.pid, host: hostname(), start: new Date().toISOString() };
    const body = `${JSON.stringify(me)}\n`;
    if (await this.runner.createExclusive(BUILD_LOCK, body)) return { ok: true };
    const text = (await this.runner.readFile(BUILD_LOCK)) ?? '';
    let owner: { pid?: number; host?: string; start?: string } = {};
    try {
      owner = JSON.parse(text) as typeof owner;
    } catch {
      // A damaged lock file: treat it as left behind by a crash.
    }
    const dead = owner.host === me.host && typeof owner.pid === 'number' && !processAlive(owner.pid);
    const damaged = owner.pid === undefined;
    if (dead || damaged) {
      await this.runner.removeFile(BUILD_LOCK);
      if (await this.runner.createExclusive(BUILD_LOCK, body)) {
        return {
          ok: true,
          note: damaged
            ? `took over a damaged build lock ${BUILD_LOCK}`
            : `took over the build lock of process ${owner.pid}, which is gone`,
        };
      }
    }
    return {
      ok: false,
      error: `another build holds ${BUILD_LOCK} on ${this.label}: pid ${owner.pid ?? '?'} on ${owner.host ?? '?'} since ${owner.start ?? '?'} (remove the file if that build is gone)`,
    };
  }

  async releaseLock(): Promise<void> {
    await this.runner.removeFile(BUILD_LOCK);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function guestFromText(vmid: Vmid, kind: GuestKind, node: string, text: string): GuestState {
  const conf = parseGuestConf(text, kind === 'lxc' ? 'lxc' : 'qemu');
  const current = withPendingApplied(conf);
  const gs: GuestState = {
    vmid,
    kind,
    node,
    conf,
    current,
    status: 'unknown',
    template: conf.main.props.template === '1',
  };
  const lock = conf.main.props.lock;
  if (lock) gs.lock = lock;
  if (gs.template) gs.status = 'stopped';
  return gs;
}
