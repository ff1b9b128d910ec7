// The host interface: everything Phoenix asks of a Proxmox node or cluster. A state read costs
// two round trips for any fleet (one `pvesh get /cluster/resources`, one file read of every
// config and firewall file: bulk-read.ts), never one `pct config` per guest; live power states
// and storage contents are asked separately, only when a plan needs them. Mutations are Proxmox
// commands with argument arrays. Local node, SSH and simulator only differ in the CommandRunner
// underneath.
import { hostname } from 'node:os';
import type { Result } from '../dsl/diagnostics.js';
import type { ContentType, Vmid } from '../dsl/model.js';
import { parseBirthLine } from './births.js';
import { fileReadCommand, parseFileRead } from './bulk-read.js';
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
  /**
   * Power states as the nodes see them now (`/nodes/<n>/lxc|qemu`, two more Perl starts per
   * node). Without it they come from `/cluster/resources`, i.e. pvestatd's last broadcast (up to
   * 10 s old): the state says so (`statusLagging`) and `confirmStatus` makes it live when a step
   * is about to depend on it.
   */
  liveStatus?: boolean;
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

export type ReadResult = Result<HostState, string>;

export const BUILD_LOCK = '/run/lock/phoenix-build.lock';
/**
 * The build lock of a cluster: a file in `/etc/pve`, which pmxcfs replicates, so two builds
 * started against two nodes of one cluster refuse each other. Creating a file there is atomic
 * cluster-wide: pmxcfs orders every write through corosync and `memdb_create` fails with EEXIST
 * on an existing name (pve-cluster src/pmxcfs/memdb.c:586), the property Proxmox's own cfs locks
 * rest on (`mkdir /etc/pve/priv/lock/<id>`, src/PVE/Cluster.pm:617-641). It is not one of those
 * lock directories: pmxcfs lets a waiter expire them after 120 s (memdb.c:42 CFS_LOCK_TIMEOUT,
 * cfs-plug-memdb.c:411-427), and a build runs far longer. `priv/`: root only, like the locks.
 */
export const CLUSTER_LOCK = '/etc/pve/priv/phoenix-build.lock';

/** How a command reached (or failed to reach) a node: ssh's exit 255, or the simulator's down node. */
export const nodeUnreachable = (r: CommandResult): string | undefined => r.transport;

export function confPath(node: string, kind: GuestKind, vmid: Vmid): string {
  return `/etc/pve/nodes/${node}/${kind === 'lxc' ? 'lxc' : 'qemu-server'}/${vmid}.conf`;
}

const CONF_LINE = /^(.*\/etc\/pve\/nodes\/([^/]+)\/(lxc|qemu-server)\/(\d+)\.conf):(.*)$/;
const FW_LINE = /^(.*\/etc\/pve\/firewall\/(\d+)\.fw):(.*)$/;

/** The nodes of a cluster and how to reach each, shared by the Host of every node. */
interface Cluster {
  runners: ReadonlyMap<string, CommandRunner>;
  hosts: Map<string, Host>;
  /** Nodes found unreachable in this run, with the transport's message. */
  down: Map<string, string>;
}

export class Host {
  private readonly cluster: Cluster | undefined;

  /**
   * `runner` reaches the node this Host's commands run on. `nodes` (a cluster: every node's
   * runner, in the config's order) lets `on(node)` send a guest's commands to its own node; the
   * state is read from the first node that answers.
   */
  constructor(
    readonly runner: CommandRunner,
    nodes?: ReadonlyMap<string, CommandRunner> | Cluster,
    /** The node `runner` reaches, when known. */
    readonly node?: string,
  ) {
    if (!nodes) return;
    this.cluster =
      'hosts' in nodes ? (nodes as Cluster) : { runners: nodes, hosts: new Map(), down: new Map() };
  }

  get label(): string {
    return this.runner.label;
  }

  /** Declared cluster nodes, in the config's order; empty for a single node. */
  get nodeNames(): string[] {
    return [...(this.cluster?.runners.keys() ?? [])];
  }

  /** The cluster's build lock lives in /etc/pve when the host knows several nodes. */
  get lockPath(): string {
    return this.cluster ? CLUSTER_LOCK : BUILD_LOCK;
  }

  /**
   * The Host whose commands run on `node` (one runner, so one SSH master connection, per node).
   * A single-node host, or a node it does not know, is this host.
   */
  on(node: string): Host {
    const c = this.cluster;
    const runner = c?.runners.get(node);
    if (!c || !runner || node === this.node) return this;
    let h = c.hosts.get(node);
    if (!h) {
      h = new Host(runner, c, node);
      c.hosts.set(node, h);
    }
    return h;
  }

  /** Nodes a command found unreachable in this run (node → ssh's message). */
  get downNodes(): ReadonlyMap<string, string> {
    return this.cluster?.down ?? new Map();
  }

  /** Records `node` unreachable when `r` failed in the transport, not on the host. */
  noteTransport(r: CommandResult, node = this.node): void {
    const why = nodeUnreachable(r);
    if (why && node && this.cluster && !this.cluster.down.has(node)) this.cluster.down.set(node, why);
  }

  /**
   * The cluster's state from the first node that answers (every node serves all of it:
   * /cluster/resources and the replicated /etc/pve); one node's Host reads from its own.
   */
  async readState(needs: ReadNeeds): Promise<ReadResult> {
    const c = this.cluster;
    if (!c || this.node) return this.readStateHere(needs);
    let last: ReadResult | undefined;
    for (const node of c.runners.keys()) {
      if (c.down.has(node)) continue;
      const h = this.on(node);
      const r = await h.readStateHere(needs);
      if (r.ok || !c.down.has(node)) return r;
      last = r;
    }
    return last ?? { ok: false, error: 'no node of the cluster answers' };
  }

  /**
   * Reads every guest's config, status and stamps, every node and storage: two round trips for
   * any fleet and cluster (one Perl start: `pvesh get /cluster/resources`; one file read:
   * bulk-read.ts), plus what `needs` asks beyond that (live statuses, storage contents).
   */
  private async readStateHere(needs: ReadNeeds): Promise<ReadResult> {
    const state = emptyHostState();
    const [cmd, args] = fileReadCommand(needs, (p) => this.runner.mapPath(p));
    const [resources, fileOut] = await Promise.all([
      this.pveshJson<Array<Record<string, unknown>>>(['get', '/cluster/resources']),
      this.runner.run(cmd, args),
    ]);
    this.noteTransport(fileOut);
    const read = parseFileRead(fileOut, needs, (p) => this.runner.mapPath(p));
    if (!read) return { ok: false, error: `cannot read /etc/pve: ${fileOut.stderr.trim()}` };
    if (!resources.ok) return resources;

    const files = new Map<string, { node: string; kind: GuestKind; vmid: Vmid; lines: string[] }>();
    const fw = new Map<Vmid, string[]>();
    // A file's lines come together: lines of the file seen last skip the path regex (whose
    // leading `.*` backtracks over every ~1 KB stamp line of a large fleet).
    let last: { prefix: string; lines: string[] } | undefined;
    for (const line of read.lines) {
      if (last && line.startsWith(last.prefix)) {
        last.lines.push(line.slice(last.prefix.length));
        continue;
      }
      const c = CONF_LINE.exec(line);
      if (c) {
        const key = c[1]!;
        let f = files.get(key);
        if (!f) {
          f = { node: c[2]!, kind: c[3] === 'lxc' ? 'lxc' : 'vm', vmid: Number(c[4]), lines: [] };
          files.set(key, f);
        }
        f.lines.push(c[5]!);
        last = { prefix: `${key}:`, lines: f.lines };
        continue;
      }
      last = undefined;
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
    if (read.subids) state.subids = read.subids;
    if (read.hostDirs) state.hostDirs = read.hostDirs;

    // pve-manager PVE/API2/Cluster.pm `resources`: one entry per node, per guest (status from
    // pvestatd's broadcast via PVE/API2Tools.pm `extract_vm_stats`, lock and tags from the
    // configs) and per enabled storage and node (`storage_check_enabled`; `status` is
    // 'available' once pvestatd has seen it, `extract_storage_stats`).
    const live = new Map<Vmid, PowerStatus>();
    for (const e of resources.value ?? []) {
      if (e.type === 'node') {
        const node = String(e.node ?? '');
        if (node) state.nodes.push(node);
        // pve-manager PVE/API2/Cluster.pm: a node corosync does not see is `offline`.
        if (node && e.status === 'offline') {
          state.offline ??= new Set();
          state.offline.add(node);
        }
      } else if (e.type === 'lxc' || e.type === 'qemu') {
        live.set(Number(e.vmid), powerStatus(e.status));
      } else if (e.type === 'storage') {
        const node = String(e.node ?? '');
        const id = String(e.storage ?? '');
        const map = state.storages.get(node) ?? new Map<string, StorageState>();
        map.set(id, {
          id,
          type: String(e.plugintype ?? ''),
          content: String(e.content ?? '')
            .split(',')
            .filter(Boolean) as ContentType[],
          enabled: true,
          active: e.status === 'available',
          // pve-manager PVE/API2Tools.pm:133 `shared => $scfg->{shared} || 0`.
          ...(Number(e.shared ?? 0) === 1 ? { shared: true } : {}),
        });
        state.storages.set(node, map);
      }
    }
    for (const node of state.nodes) if (!state.storages.has(node)) state.storages.set(node, new Map());

    for (const f of files.values()) {
      const gs = guestFromText(f.vmid, f.kind, f.node, `${f.lines.join('\n')}\n`);
      const status = live.get(f.vmid);
      if (status && !gs.template) gs.status = status;
      state.guests.set(f.vmid, gs);
    }
    state.statusLagging = true;
    if (needs.liveStatus) {
      const confirmed = await this.confirmStatus(state, needs.nodes);
      if (!confirmed.ok) return confirmed;
    }
    if (needs.listContent.length) {
      const listed = await this.readContents(state, needs.listContent);
      if (!listed.ok) return listed;
    }
    return { ok: true, value: state };
  }

  /**
   * Makes the power states of the guests on `nodes` live: `/cluster/resources` reports what
   * pvestatd last broadcast (every 10 s, pve-manager PVE/Service/pvestatd.pm), while
   * `/nodes/<node>/lxc|qemu` ask the node now (pve-container PVE/LXC.pm `vmstatus`, qemu-server
   * PVE/QemuServer.pm `vmstatus`). Two Perl starts per node; only the nodes asked.
   */
  async confirmStatus(state: HostState, nodes: string[]): Promise<Result<void, string>> {
    // An offline node answers nothing (pvesh proxies /nodes/<n>/… to it): its guests keep the broadcast status.
    const asked = nodes.filter((n) => state.nodes.includes(n) && !state.offline?.has(n));
    const lists = await Promise.all(
      asked.flatMap((node) => [
        this.pveshJson<Array<Record<string, unknown>>>(['get', `/nodes/${node}/lxc`]),
        this.pveshJson<Array<Record<string, unknown>>>(['get', `/nodes/${node}/qemu`]),
      ]),
    );
    for (const list of lists) {
      if (!list.ok) return list;
      for (const entry of list.value ?? []) {
        const gs = state.guests.get(Number(entry.vmid));
        if (!gs || gs.template) continue;
        gs.status = powerStatus(entry.status);
      }
    }
    if (asked.length === state.nodes.length) state.statusLagging = false;
    return { ok: true, value: undefined };
  }

  /** Lists storages' contents (OS templates, cloud images) into `state.volumes`; asked only when a creation needs them. */
  async readContents(
    state: HostState,
    wanted: Array<{ node: string; storage: string }>,
  ): Promise<Result<void, string>> {
    const todo = wanted.filter(
      (c) => state.storages.get(c.node)?.has(c.storage) && !state.offline?.has(c.node),
    );
    const lists = await Promise.all(
      todo.map((c) =>
        this.pveshJson<Array<{ volid?: string }>>(['get', `/nodes/${c.node}/storage/${c.storage}/content`]),
      ),
    );
    for (const [i, list] of lists.entries()) {
      if (!list.ok) return list;
      const { node, storage } = todo[i]!;
      state.contentListed = (state.contentListed ?? new Set()).add(`${node}/${storage}`);
      const set = state.volumes.get(node) ?? new Set<string>();
      for (const v of list.value ?? []) if (v.volid) set.add(v.volid);
      state.volumes.set(node, set);
    }
    return { ok: true, value: undefined };
  }

  /**
   * Proxmox worker tasks still running on the nodes. Asked only when some guest carries a
   * `lock:`: a lock with a live task behind it is work in progress, not debris. The active list
   * (`pvesh get /nodes/<n>/tasks --source active`) keeps a killed task as RUNNING until pvestatd
   * notices (up to ~10 s); only `/tasks/<upid>/status` checks the worker's pid, so each listed
   * task about one of `ids` is confirmed there (one call each; the others are not asked about).
   */
  async activeTasks(nodes: string[], ids: Set<string>): Promise<Result<ActiveTask[], string>> {
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
  async run(cmd: string, args: string[], opts?: RunOptions): Promise<CommandResult> {
    const r = await this.runner.run(cmd, args, { ...opts, mutating: true });
    this.noteTransport(r);
    return r;
  }

  /** A read-only command. */
  async read(cmd: string, args: string[]): Promise<CommandResult> {
    const r = await this.runner.run(cmd, args, { mutating: false });
    this.noteTransport(r);
    return r;
  }

  private async pveshJson<T = unknown>(args: string[]): Promise<Result<T, string>> {
    const r = await this.runner.run('pvesh', [...args, '--output-format', 'json']);
    this.noteTransport(r);
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
  async acquireLock(): Promise<Result<{ note?: string }, string>> {
    const c = this.cluster;
    if (!c || this.node) return this.lockHere();
    // Through the first node that answers: the file is the same on all of them.
    let last = '';
    for (const node of c.runners.keys()) {
      if (c.down.has(node)) continue;
      try {
        const r = await this.on(node).lockHere();
        if (r.ok) this.lockedVia = node;
        return r;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
        c.down.set(node, last);
      }
    }
    return { ok: false, error: `cannot take the build lock: no node of the cluster answers (${last})` };
  }

  /** The node the cluster lock was taken through (released there). */
  private lockedVia?: string;

  private async lockHere(): Promise<Result<{ note?: string }, string>> {
    const lock = this.lockPath;
    const me = {
      pid: process.pid,
      host: hostname(),
      start: new Date().toISOString(),
      ...(this.cluster ? { node: this.node ?? this.nodeNames[0] } : {}),
    };
    const body = `${JSON.stringify(me)}\n`;
    if (await this.runner.createExclusive(lock, body)) return { ok: true, value: {} };
    const text = (await this.runner.readFile(lock)) ?? '';
    let owner: { pid?: number; host?: string; start?: string; node?: string } = {};
    try {
      owner = JSON.parse(text) as typeof owner;
    } catch {
      // A damaged lock file: treat it as left behind by a crash.
    }
    const dead = owner.host === me.host && typeof owner.pid === 'number' && !processAlive(owner.pid);
    const damaged = owner.pid === undefined;
    if (dead || damaged) {
      await this.runner.removeFile(lock);
      if (await this.runner.createExclusive(lock, body)) {
        return {
          ok: true,
          value: {
            note: damaged
              ? `took over a damaged build lock ${lock}`
              : `took over the build lock of process ${owner.pid}, which is gone`,
          },
        };
      }
    }
    return {
      ok: false,
      error: `another build holds ${lock} on ${this.cluster ? `the cluster (taken through node ${owner.node ?? '?'})` : this.label}: pid ${owner.pid ?? '?'} on ${owner.host ?? '?'} since ${owner.start ?? '?'} (remove the file if that build is gone)`,
    };
  }

  async releaseLock(): Promise<void> {
    const via = this.lockedVia ? this.on(this.lockedVia) : this;
    await via.runner.removeFile(this.lockPath);
  }
}

function powerStatus(value: unknown): PowerStatus {
  return value === 'running' || value === 'stopped' ? value : 'unknown';
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
