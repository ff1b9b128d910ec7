// What Phoenix knows about a host after one bulk read: every guest's config (main section,
// pending changes, snapshots), its live status, the storages and the volumes planning needs.
// Plain data: the runner and the targets read it, only src/pve/ fills it.
import type { ContentType, Vmid } from '../dsl/model.js';
import type { BirthRecord, GuestKind } from './births.js';
import type { ConfSection, GuestConf } from './format/index.js';

export type { ConfSection, GuestConf, GuestKind };
export type PowerStatus = 'running' | 'stopped' | 'unknown';

export interface GuestState {
  vmid: Vmid;
  kind: GuestKind;
  node: string;
  conf: GuestConf;
  /** The config as `pct config` shows it: pending values applied. */
  current: ConfSection;
  status: PowerStatus;
  template: boolean;
  lock?: string;
}

export interface StorageState {
  id: string;
  type: string;
  content: ContentType[];
  enabled: boolean;
  active: boolean;
  /** One copy seen by every node (storage.cfg `shared 1`); guests on it move between nodes without copying. */
  shared?: boolean;
}

export interface HostState {
  nodes: string[];
  /** Nodes `/cluster/resources` reports `offline` (corosync does not see them). */
  offline?: Set<string>;
  guests: Map<Vmid, GuestState>;
  /** Storages per node. */
  storages: Map<string, Map<string, StorageState>>;
  /** Volume ids seen on storages that were listed (OS templates, cloud images), per node. */
  volumes: Map<string, Set<string>>;
  /** `<node>/<storage>` of the storages whose content was listed into `volumes`. */
  contentListed?: Set<string>;
  /** Raw `/etc/pve/firewall/<vmid>.fw` contents. */
  firewall: Map<Vmid, string>;
  /** `/etc/subuid` and `/etc/subgid`, read only when a guest declares an idmap. */
  subids?: { uid: string; gid: string };
  /** Owners of the host folders behind bind mounts (one `stat`); a missing folder is absent. */
  hostDirs?: Map<string, { uid: number; gid: number }>;
  /** Phoenix's birth records of creations not known to have finished (see births.ts). */
  births: Map<Vmid, BirthRecord>;
  /**
   * Power states are pvestatd's last broadcast (`/cluster/resources`, up to 10 s old), not asked
   * of the nodes: `Host.confirmStatus` before a step relies on them.
   */
  statusLagging?: boolean;
}

export function emptyHostState(): HostState {
  return {
    nodes: [],
    guests: new Map(),
    storages: new Map(),
    volumes: new Map(),
    firewall: new Map(),
    births: new Map(),
  };
}

/** The description as Proxmox stores it ('' when none). */
export function descriptionOf(gs: GuestState | undefined): string {
  return gs?.conf.main.description ?? '';
}
