// The resolved configuration: what `loadConfig` returns after validation and defaults.
// Everything downstream (graph, runner, targets, import) reads only these types; the
// authoring API in `define.ts` exists to give editors completions and errors and produces
// exactly this shape. Field names are the authoring names, so a validation message can
// point at `guests.103.cloneFrom` and mean the same thing in both.
//
// Units are in the name (`memoryMb`, `sizeGb`, `intervalS`): one style, no parsing.

export type Vmid = number;

/** Proxmox storage content types (pve-storage `content` property). */
export type ContentType = 'images' | 'rootdir' | 'vztmpl' | 'iso' | 'backup' | 'snippets' | 'import';

export type StorageType = 'dir' | 'lvmthin' | 'lvm' | 'zfspool' | 'nfs' | 'cifs' | 'btrfs' | 'rbd';

/** A storage the config relies on. Phoenix checks it exists on the host; it never creates storages. */
export interface StorageDecl {
  type: StorageType;
  content: ContentType[];
  /** For `zfspool`: the pool/dataset backing it, e.g. `quickOS/lxc-disks`. */
  pool?: string;
  /** For `dir`/`nfs`: the mount path on the host. */
  path?: string;
  /**
   * Cluster nodes the storage is available on (storage.cfg `nodes a,b`). Default: every node.
   * Phoenix checks guests against it and against the host's storage.cfg; it never edits storage.cfg.
   */
  nodes?: string[];
  /** One copy seen by every node (storage.cfg `shared 1`: NFS, Ceph...): guests on it can move between nodes. */
  shared?: boolean;
}

/** A provisioning script run inside guests, in declaration order of the guest's `features` list. */
export interface FeatureDecl {
  /** Path of the script, relative to the config file. Its content is part of every user's fingerprint. */
  script: string;
  description?: string;
  /** Extra arguments passed to the script (after the guest's own `featureArgs`). */
  args?: string[];
}

/** One lifecycle snapshot: taken after the step named by `after` has run. */
export interface SnapshotDecl {
  /** Proxmox snapshot name: `[a-zA-Z][a-zA-Z0-9_-]{1,39}`, not `current`/`vzdump`/`pending`. */
  name: string;
  after: 'config' | 'features' | 'app';
  description?: string;
}

export type FirewallAction = 'ACCEPT' | 'DROP' | 'REJECT';
export type FirewallDirection = 'in' | 'out';

export interface FirewallRule {
  direction: FirewallDirection;
  action: FirewallAction;
  /** Source address or CIDR (`-source`). */
  source?: string;
  /** Destination address or CIDR (`-dest`). */
  dest?: string;
  proto?: string;
  /** Destination port(s), Proxmox syntax: `443`, `80,443`, `8000:8100`. */
  dport?: string;
  sport?: string;
  iface?: string;
  comment?: string;
  enabled?: boolean;
}

export interface FirewallDecl {
  enabled: boolean;
  policyIn?: FirewallAction;
  policyOut?: FirewallAction;
  rules: FirewallRule[];
}

/** Proxmox `onboot` + `startup` (order, up/down delay in seconds). */
export interface BootDecl {
  onboot: boolean;
  order?: number;
  upDelayS?: number;
  downDelayS?: number;
}

export interface HealthCheckDecl {
  /** Command run inside the guest; healthy when it exits 0. */
  command: string;
  retries: number;
  intervalS: number;
}

/** An application script run once inside the guest after its features. */
export interface AppDecl {
  script: string;
  args?: string[];
}

/** Policy when a clone's source template was rebuilt after the clone was made. */
export type OnSourceChange = 'warn' | 'replace';

interface GuestCommon {
  vmid: Vmid;
  /** Hostname (LXC) or VM name: a DNS name, no underscores. */
  name: string;
  description?: string;
  tags?: string[];
  node?: string;
  cores: number;
  memoryMb: number;
  /** The guest this one is cloned from. Clones of templates are linked, others full. */
  cloneFrom?: Vmid;
  /** `cloneFrom` names a guest that exists only on the host (authoring `cloneFromHost`), not a declared one. */
  cloneSourceOnHost?: boolean;
  /**
   * Clone from this snapshot of the source (`pct clone --snapname` / `qm clone --snapname`); one of
   * the source's `snapshots`. For a non-template source, which may be running (a full clone of a
   * running container needs a snapshot). Legacy `template_snapshot_name`. Not for template sources.
   */
  cloneSnapshot?: string;
  /** Converted to a native Proxmox template once built. A template is never left running. */
  template: boolean;
  /** Guests that must be fully built before this one's provisioning (features, app) starts. */
  dependsOn: Vmid[];
  /** Names of declared features, run in this order. */
  features: string[];
  /** Extra arguments for every feature script of this guest (legacy `bootstrap_ca_url`). */
  featureArgs?: string[];
  app?: AppDecl;
  snapshots: SnapshotDecl[];
  firewall?: FirewallDecl;
  boot: BootDecl;
  healthCheck?: HealthCheckDecl;
  onSourceChange: OnSourceChange;
  /**
   * Data Phoenix carries but does not act on (legacy `traefik_service`, `vllm_engine_config`,
   * `portainer_role`...). Kept so nothing a user wrote is lost; not part of any fingerprint.
   */
  meta?: Record<string, unknown>;
}

export interface LxcNet {
  /** `net0`, `net1`... index. */
  index: number;
  /** Interface name inside the container, e.g. `eth0`. */
  name: string;
  bridge: string;
  /** `dhcp`, `manual` or an address in CIDR notation. */
  ip: string;
  gw?: string;
  hwaddr?: string;
  vlan?: number;
  firewall?: boolean;
}

/**
 * A custom mapping: container ids [containerId, containerId+size) → host ids [hostId, ...).
 * Declared entries are the exceptions: container ids no entry covers keep Proxmox's default
 * mapping (100000 + id), so `{ type: 'gid', containerId: 33, hostId: 33, size: 1 }` alone passes
 * gid 33 through. Per type, entries overlap neither on the container side nor on the host side.
 */
export interface IdMapDecl {
  type: 'uid' | 'gid';
  containerId: number;
  hostId: number;
  size: number;
}

/** A bind mount of a host folder (`mpN: /host/path,mp=/path`). */
export interface BindMountDecl {
  hostPath: string;
  /** Path inside the container. */
  path: string;
  /** Owner as seen inside the container; Phoenix creates the host folder with the shifted ids. */
  owner?: { uid: number; gid: number };
  readOnly?: boolean;
}

/** A ZFS-backed volume (`mpN: <storage>:<size>,mp=/path`). */
export interface ZfsVolumeDecl {
  name: string;
  /** Storage id of a `zfspool` storage. */
  storage: string;
  sizeGb: number;
  path: string;
}

export interface LxcFeatures {
  nesting?: boolean;
  keyctl?: boolean;
  fuse?: boolean;
  mknod?: boolean;
  mount?: string[];
}

export interface LxcGuest extends GuestCommon {
  kind: 'lxc';
  /** OS template volume id (`local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst`). Required unless cloned. */
  ostemplate?: string;
  /** Fixed at creation: Proxmox cannot change it afterwards. Clones must match their source. */
  unprivileged: boolean;
  swapMb: number;
  rootfs: { storage: string; sizeGb: number };
  net: LxcNet[];
  nameserver?: string;
  searchdomain?: string;
  /** Proxmox `features:` (nesting, keyctl...). */
  pveFeatures: LxcFeatures;
  apparmor?: { profile: string; allowNesting: boolean };
  /** NVIDIA GPU indexes passed through (legacy `gpu_assignment`). */
  gpus: number[];
  /** Raw `lxc.*` lines (`lxc.mount.auto: sys:rw`), written to the conf file by Phoenix. */
  rawLxc: string[];
  idmap: IdMapDecl[];
  mounts: BindMountDecl[];
  zfsVolumes: ZfsVolumeDecl[];
}

export interface VmNfsVolume {
  server: string;
  /** Exported path on the server. */
  export: string;
  /** Mount point inside the guest. */
  mountPoint: string;
  options?: string;
}

export interface VmCloudInit {
  user: string;
  /** Kept out of logs and plans; hashed into fingerprints. */
  password?: string;
  sshKeys?: string[];
  /** `dhcp` or CIDR. */
  ip: string;
  gw?: string;
  nameserver?: string;
  searchdomain?: string;
}

export interface VmGuest extends GuestCommon {
  kind: 'vm';
  /** Cloud image to import as the boot disk (`local:import/noble-server-cloudimg-amd64.qcow2`). Required unless cloned. */
  image?: string;
  /** Storage of the boot disk and cloud-init drive. */
  storage: string;
  /** Boot disk size; grows only. */
  diskGb?: number;
  bridge: string;
  mac?: string;
  cloudInit: VmCloudInit;
  /** QEMU guest agent enabled (needed for provisioning). */
  agent: boolean;
  nfsVolumes: VmNfsVolume[];
}

export type Guest = LxcGuest | VmGuest;

export interface Config {
  /** Absolute path of the config file; scripts are resolved relative to its folder. */
  file: string;
  /** The default node: the first declared in `nodes`, else the top-level `node`, else `pve`. */
  node: string;
  /**
   * Declared cluster nodes → how to reach each (`ssh://root@pve1[:port]`, or `local` for this
   * machine / the simulator). Empty: a single node, `node`, reached as the command line says.
   */
  nodes?: Record<string, string>;
  storages: Record<string, StorageDecl>;
  features: Record<string, FeatureDecl>;
  /** Keyed by VMID, in ascending VMID order (JavaScript orders integer keys; source order is lost). */
  guests: Map<Vmid, Guest>;
  /** Top-level data Phoenix carries but does not act on (legacy `nvidia_driver_version`...). */
  meta?: Record<string, unknown>;
}
