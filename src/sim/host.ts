// The simulated host's state folder (a fake host root): guest configs under etc/pve, the
// generated .vmlist, storage.cfg, and simulator-only runtime state under sim/.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  formatVmlist,
  type GuestConf,
  type GuestKind,
  parseGuestConf,
  parseStorageCfg,
  type StorageEntry,
  serializeGuestConf,
  type Vmlist,
} from '../pve/format/index.js';
import { clusterNodes, isCluster, isSharedStorage, mapHostPath, storageOnNode } from './cluster.js';
import type { SimEnv } from './env.js';
import { PveDie } from './errors.js';
import { type Out, readJson, readText, writeFileAtomic, writeJson } from './io.js';
import { withFileLock, withStateLock } from './lock.js';

export interface GuestRef {
  vmid: number;
  kind: GuestKind;
  node: string;
}

/** Per-guest runtime state the real host keeps in the kernel/pvestatd, kept in sim/guests/<vmid>/. */
export interface Runtime {
  status: 'running' | 'stopped';
  /** Epoch ms of the last start. */
  startedAt?: number;
  /** Epoch ms from which the QEMU guest agent answers. */
  agentReadyAt?: number;
  /** Fake pid of the running guest. */
  pid?: number;
  /** Epoch ms when the config file appeared (for /cluster/resources lag). */
  createdAt?: number;
  /** Epoch ms of the last status change and the status before it. */
  statusChangedAt?: number;
  prevStatus?: 'running' | 'stopped';
  /** Epoch ms of conversion to template. */
  templateAt?: number;
  /**
   * The hostname a CT's /etc/hostname got at its last start: `pct set --hostname` is fast-plug
   * (config only, pve-container src/PVE/LXC/Config.pm:1612-1622); the file inside is rewritten by
   * the next start's `pre_start_hook` → `set_hostname` (src/PVE/LXC/Setup/Base.pm:695-703).
   */
  hostname?: string;
}

export const DIR_NAME: Record<GuestKind, string> = { lxc: 'lxc', qemu: 'qemu-server' };

export class SimHost {
  constructor(
    readonly env: SimEnv,
    readonly io: Out,
  ) {}

  get root(): string {
    return this.env.root;
  }

  get node(): string {
    return this.env.node;
  }

  /** Maps a path on this node's host (`/var/lib/vz/...`) into the state folder (cluster.ts `mapHostPath`). */
  hostPath(path: string): string {
    return mapHostPath(this.root, this.node, path);
  }

  /** The same host seen from another node of the cluster (a migration's target, a proxied API call). */
  onNode(node: string): SimHost {
    return node === this.node ? this : new SimHost({ ...this.env, node }, this.io);
  }

  /** The cluster's nodes (one, `pve` or the env's node, for a folder made before clusters). */
  nodes(): string[] {
    return clusterNodes(this.root, this.node);
  }

  get isCluster(): boolean {
    return isCluster(this.root);
  }

  /** State this node keeps for itself (local storages' volumes, host-tool records): `/sim` on its host. */
  nodeSimPath(...parts: string[]): string {
    return this.hostPath(join('/sim', ...parts));
  }

  /**
   * Where a path storage keeps `rel` (a file below its `path`): a shared storage is one mount seen
   * by every node, kept once at `<root>/<path>`; a local one is on this node's file system.
   */
  storageFile(s: StorageEntry, rel: string): string {
    return isSharedStorage(s) ? join(this.root, rel) : this.hostPath(rel);
  }

  pvePath(...parts: string[]): string {
    return join(this.root, 'etc', 'pve', ...parts);
  }

  simPath(...parts: string[]): string {
    return join(this.root, 'sim', ...parts);
  }

  confPath(kind: GuestKind, vmid: number, node = this.node): string {
    return this.pvePath('nodes', node, DIR_NAME[kind], `${vmid}.conf`);
  }

  /** The path Proxmox prints in "does not exist" errors (relative to /etc/pve). */
  confShownPath(kind: GuestKind, vmid: number): string {
    return `nodes/${this.node}/${DIR_NAME[kind]}/${vmid}.conf`;
  }

  /** Real path of the config flock, as printed in messages. */
  lockShownPath(kind: GuestKind, vmid: number): string {
    return kind === 'lxc'
      ? `/run/lock/lxc/pve-config-${vmid}.lock`
      : `/var/lock/qemu-server/lock-${vmid}.conf`;
  }

  /** Takes the guest's config flock (exclusive unless `shared`). */
  withConfigLock<T>(kind: GuestKind, vmid: number, timeoutS: number, fn: () => T, shared = false): T {
    const shown = this.lockShownPath(kind, vmid);
    return withFileLock(this.io, this.hostPath(shown), shown, timeoutS, shared, fn);
  }

  /** Every guest config on every node (cluster-wide view, like .vmlist). */
  listGuests(): GuestRef[] {
    const out: GuestRef[] = [];
    const nodesDir = this.pvePath('nodes');
    if (!existsSync(nodesDir)) return out;
    for (const node of readdirSync(nodesDir).sort()) {
      for (const kind of ['lxc', 'qemu'] as const) {
        const dir = join(nodesDir, node, DIR_NAME[kind]);
        if (!existsSync(dir)) continue;
        for (const f of readdirSync(dir)) {
          const m = /^([1-9][0-9]*)\.conf$/.exec(f);
          if (m) out.push({ vmid: Number(m[1]), kind, node });
        }
      }
    }
    return out.sort((a, b) => a.vmid - b.vmid);
  }

  findGuest(vmid: number): GuestRef | undefined {
    return this.listGuests().find((g) => g.vmid === vmid);
  }

  /**
   * Loads a guest config of this node; dies like `load_config` when it is missing, also when the
   * guest lives on another node (pve-guest-common src/PVE/AbstractConfig.pm:50-58).
   */
  loadConf(kind: GuestKind, vmid: number): GuestConf {
    const text = readText(this.confPath(kind, vmid));
    if (text === undefined)
      throw new PveDie(`Configuration file '${this.confShownPath(kind, vmid)}' does not exist`);
    return parseGuestConf(text, kind);
  }

  confExists(kind: GuestKind, vmid: number): boolean {
    return existsSync(this.confPath(kind, vmid));
  }

  writeConf(kind: GuestKind, vmid: number, conf: GuestConf): void {
    const path = this.confPath(kind, vmid);
    const isNew = !existsSync(path);
    writeFileAtomic(path, serializeGuestConf(conf, kind));
    if (isNew) {
      this.updateRuntime(vmid, (r) => ({ ...r, createdAt: Date.now() }));
      this.refreshVmlist();
    }
  }

  /** Writes a raw config text (e.g. qm clone's `# qmclone temporary file`). */
  writeConfRaw(kind: GuestKind, vmid: number, text: string): void {
    const path = this.confPath(kind, vmid);
    const isNew = !existsSync(path);
    writeFileAtomic(path, text);
    if (isNew) {
      this.updateRuntime(vmid, (r) => ({ ...r, createdAt: Date.now() }));
      this.refreshVmlist();
    }
  }

  /**
   * `move_config_to_node`: renames the config into the target node's folder, which pmxcfs does
   * atomically (pve-guest-common src/PVE/AbstractConfig.pm `move_config_to_node`).
   */
  moveConfTo(kind: GuestKind, vmid: number, target: string): void {
    const to = this.confPath(kind, vmid, target);
    mkdirSync(dirname(to), { recursive: true });
    renameSync(this.confPath(kind, vmid), to);
    this.refreshVmlist();
  }

  removeConf(kind: GuestKind, vmid: number): void {
    rmSync(this.confPath(kind, vmid), { force: true });
    rmSync(this.simPath('guests', String(vmid)), { recursive: true, force: true });
    rmSync(this.pvePath('firewall', `${vmid}.fw`), { force: true });
    this.refreshVmlist();
  }

  /** `check_vmid_unused`: dies `<CT|VM> <vmid> already exists on node '<node>'`. */
  checkVmidUnused(vmid: number): void {
    const g = this.findGuest(vmid);
    if (g) throw new PveDie(`${g.kind === 'lxc' ? 'CT' : 'VM'} ${vmid} already exists on node '${g.node}'`);
  }

  /** Regenerates .vmlist from the config files (pmxcfs does this on every add/remove). */
  refreshVmlist(): void {
    const statePath = this.simPath('vmlist-state.json');
    withStateLock(this.io, statePath, () => {
      const state = readJson<Vmlist>(statePath, { version: 0, ids: {} });
      const guests = this.listGuests();
      const seen = new Set<string>();
      let changed = false;
      for (const g of guests) {
        const id = String(g.vmid);
        seen.add(id);
        const cur = state.ids[id];
        if (!cur || cur.node !== g.node || cur.type !== g.kind) {
          state.version++;
          state.ids[id] = { node: g.node, type: g.kind, version: state.version };
          changed = true;
        }
      }
      for (const id of Object.keys(state.ids)) {
        if (!seen.has(id)) {
          delete state.ids[id];
          state.version++;
          changed = true;
        }
      }
      const vmlistPath = this.pvePath('.vmlist');
      if (changed || !existsSync(vmlistPath)) {
        writeJson(statePath, state);
        writeFileAtomic(vmlistPath, formatVmlist(state));
      }
    });
  }

  /** Every storage of storage.cfg (cluster-wide). */
  allStorages(): StorageEntry[] {
    return parseStorageCfg(readText(this.pvePath('storage.cfg')) ?? '');
  }

  /** The storages this node has: `nodes` restricts a storage (pve-storage src/PVE/Storage.pm:264-278). */
  storages(): StorageEntry[] {
    return this.allStorages().filter((s) => storageOnNode(s, this.node));
  }

  /** A storage of storage.cfg, whether or not this node has it (`storage_config`). */
  storage(id: string): StorageEntry | undefined {
    return this.allStorages().find((s) => s.id === id);
  }

  runtime(vmid: number): Runtime {
    return readJson<Runtime>(this.simPath('guests', String(vmid), 'runtime.json'), { status: 'stopped' });
  }

  updateRuntime(vmid: number, fn: (r: Runtime) => Runtime): Runtime {
    const next = fn(this.runtime(vmid));
    writeJson(this.simPath('guests', String(vmid), 'runtime.json'), next);
    return next;
  }

  setStatus(vmid: number, status: 'running' | 'stopped', extra: Partial<Runtime> = {}): void {
    this.updateRuntime(vmid, (r) => {
      const next: Runtime = { ...r, ...extra, status, statusChangedAt: Date.now(), prevStatus: r.status };
      if (status === 'stopped') {
        delete next.pid;
        delete next.startedAt;
        delete next.agentReadyAt;
      }
      return next;
    });
  }

  isRunning(vmid: number): boolean {
    return this.runtime(vmid).status === 'running';
  }

  ensureDir(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
  }
}
