// The authoring API: `defineConfig`, `lxc`, `vm`. Their runtime is tiny (every config load bundles
// it); their job is the types, so that an editor completes declared guest ids, feature names and
// storage ids, and flags an undeclared one, right where the user types it.
//
// How the ids reach the inside of `lxc({...})`: `defineConfig` infers the guest ids `K` from the
// keys of `guests`, and each helper infers its own `Id` only from the type its result is expected
// to have (its argument is `NoInfer`). That needs the helper call to be checked *after* `K` is
// known, and TypeScript defers exactly one kind of nested call to a second inference pass: a
// generic function whose return type is itself callable. So a declaration is a function (calling
// it returns its spec) whose parameters carry the ids, features and storages it may reference.
// Parameters are contravariant, so a declaration written outside `defineConfig` (ids unknown,
// `number`) still fits any config, and the loader's validation checks it instead.
import type {
  AppDecl,
  BindMountDecl,
  BootDecl,
  FeatureDecl,
  FirewallAction,
  FirewallRule,
  HealthCheckDecl,
  IdMapDecl,
  LxcFeatures,
  OnSourceChange,
  SnapshotDecl,
  StorageDecl,
  VmCloudInit,
  Vmid,
  VmNfsVolume,
} from './model.js';

/** Fields shared by containers and VMs, as written in a config. */
/**
 * The names a guest's `node` may take: the declared `nodes`, or any name when the config declares
 * none (a single node: the top-level `node`).
 */
export type NodeName<N extends string> = [N] extends [never] ? string : N;

export interface GuestSpec<Id = Vmid, F extends string = string, N extends string = string> {
  /** Hostname (LXC) or VM name. A DNS name: letters, digits, `-` and `.`; no underscores. */
  name: string;
  /** Proxmox "Notes". Phoenix keeps its build stamps in a marked block of it; your text stays. */
  description?: string;
  tags?: string[];
  /** Cluster node (a name declared in `nodes`); default: the first declared node, else the config's `node`. */
  node?: N;
  /** CPU cores. Default: inherited from `cloneFrom`, else 1. */
  cores?: number;
  /** Memory in MiB. Default: inherited from `cloneFrom`, else 512. */
  memoryMb?: number;
  /** Guest this one is cloned from (a declared VMID of the same kind). Linked clone of a template, full clone otherwise. */
  cloneFrom?: Id;
  /**
   * A guest that already exists on the host but is not declared here (made by hand, by the legacy
   * tool or by another config) to clone this one from. Nothing is inherited from it (declare the
   * fields you need); the plan checks that it exists on the host and is of the same kind.
   * Excludes `cloneFrom`. `phoenix import` writes it for a legacy clone whose source is not in the files.
   */
  cloneFromHost?: number;
  /** Clone from this declared snapshot of a non-template source (`--snapname`; legacy `template_snapshot_name`). */
  cloneSnapshot?: string;
  /** Convert to a Proxmox template once built (never left running). Default false. */
  template?: boolean;
  /** Guests that must be fully built before this guest's features and app run. Default []. */
  dependsOn?: Id[];
  /** Declared feature names, run in this order. Default []. */
  features?: F[];
  /** Extra arguments for every feature script of this guest (legacy `bootstrap_ca_url`). */
  featureArgs?: string[];
  /** Application script run once after the features. */
  app?: AppDecl;
  /** Lifecycle snapshots. Default []. */
  snapshots?: SnapshotDecl[];
  /** Guest firewall (`/etc/pve/firewall/<vmid>.fw`). */
  firewall?: FirewallSpec;
  /** Start at host boot, order and delays. Default `{ onboot: false }`. */
  boot?: Partial<BootDecl>;
  healthCheck?: HealthCheckDecl;
  /** When the clone source was rebuilt after this clone was made. Default `'warn'`. */
  onSourceChange?: OnSourceChange;
  /** Data Phoenix carries but does not act on (not fingerprinted). */
  meta?: Record<string, unknown>;
}

export interface FirewallSpec {
  /** Default true when a firewall block is given. */
  enabled?: boolean;
  policyIn?: FirewallAction;
  policyOut?: FirewallAction;
  /** Default []. */
  rules?: FirewallRule[];
}

/** An interface address: `dhcp`, `manual`, or an address with its prefix length (`10.0.0.5/24`). */
export type IpConfig = 'dhcp' | 'manual' | `${string}/${number}`;

export interface LxcNetSpec {
  /** `netN` index. Default: position in the `net` array. */
  index?: number;
  /** Interface name inside the container. Default `eth<index>`. */
  name?: string;
  bridge: string;
  /** `dhcp`, `manual` or an address in CIDR notation (`10.0.0.5/24`). */
  ip: IpConfig;
  gw?: string;
  /** MAC address `XX:XX:XX:XX:XX:XX`. Default: Proxmox generates one. */
  hwaddr?: string;
  vlan?: number;
  firewall?: boolean;
}

export interface ZfsVolumeSpec<S extends string = string> {
  name: string;
  /** Declared storage id of a `zfspool` storage. */
  storage: S;
  sizeGb: number;
  /** Mount point inside the container. */
  path: string;
}

export interface LxcSpec<
  Id = Vmid,
  F extends string = string,
  S extends string = string,
  N extends string = string,
> extends GuestSpec<Id, F, N> {
  /** OS template volume (`local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst`). Required unless cloned. */
  ostemplate?: string;
  /** Fixed at creation. Default: inherited from `cloneFrom` (must match it), else true. */
  unprivileged?: boolean;
  /** Swap in MiB. Default: inherited, else 512. */
  swapMb?: number;
  /** Root disk. Required unless cloned; a clone inherits storage and size (a larger size grows it). */
  rootfs?: { storage?: S; sizeGb?: number };
  /** Network interfaces `net0`, `net1`... Default []. Not inherited (MACs and IPs are per guest). */
  net?: LxcNetSpec[];
  nameserver?: string;
  searchdomain?: string;
  /** Proxmox `features:` (nesting, keyctl, fuse, mknod, mount). Default: inherited, else {}. */
  pveFeatures?: LxcFeatures;
  apparmor?: { profile: string; allowNesting?: boolean };
  /** NVIDIA GPU indexes passed through. Default []. */
  gpus?: number[];
  /** Raw `lxc.*` lines written to the conf file (`lxc.mount.auto: sys:rw`). Default []. */
  rawLxc?: string[];
  /** Custom `lxc.idmap` ranges. Default []. */
  idmap?: IdMapDecl[];
  /** Bind mounts of host folders. Default []. */
  mounts?: BindMountDecl[];
  /** Storage-backed volumes `mpN`. Default []. */
  zfsVolumes?: ZfsVolumeSpec<S>[];
}

export interface VmSpec<
  Id = Vmid,
  F extends string = string,
  S extends string = string,
  N extends string = string,
> extends GuestSpec<Id, F, N> {
  /** Cloud image imported as the boot disk (`local:import/noble-server-cloudimg-amd64.qcow2`). Required unless cloned. */
  image?: string;
  /** Storage of the boot disk and cloud-init drive. Required unless cloned. */
  storage?: S;
  /** Boot disk size in GiB; grows only. Default: the image's size / inherited. */
  diskGb?: number;
  /** Bridge of `net0`. Required unless cloned. */
  bridge?: string;
  /** MAC of `net0`. Default: Proxmox generates one. */
  mac?: string;
  /** Cloud-init user and network. `user` required unless cloned; `ip` default `dhcp`. */
  cloudInit?: Partial<Omit<VmCloudInit, 'ip'>> & { ip?: Exclude<IpConfig, 'manual'> };
  /** QEMU guest agent. Default: inherited, else true. */
  agent?: boolean;
  /** NFS shares mounted inside the VM. Default []. */
  nfsVolumes?: VmNfsVolume[];
}

/** Marks helper results so the validator can tell them from plain objects. */
export const GUEST_DECL = Symbol.for('phoenix-pve.guest');

/**
 * A declared container. Calling it returns its spec; the parameters exist for the type checker
 * only (they carry the ids, features and storages the spec may reference).
 */
export interface LxcDecl<
  Id = Vmid,
  F extends string = string,
  S extends string = string,
  N extends string = string,
> {
  (guest?: Id, feature?: F, storage?: S, node?: N): LxcSpec;
  readonly kind: 'lxc';
  readonly spec: LxcSpec;
}

/** A declared VM; see {@link LxcDecl}. */
export interface VmDecl<
  Id = Vmid,
  F extends string = string,
  S extends string = string,
  N extends string = string,
> {
  (guest?: Id, feature?: F, storage?: S, node?: N): VmSpec;
  readonly kind: 'vm';
  readonly spec: VmSpec;
}

export type GuestDecl<
  Id = Vmid,
  F extends string = string,
  S extends string = string,
  N extends string = string,
> = LxcDecl<Id, F, S, N> | VmDecl<Id, F, S, N>;

/** A storage as declared: `nodes` names declared cluster nodes. */
export type StorageSpec<N extends string = string> = Omit<StorageDecl, 'nodes'> & { nodes?: NodeName<N>[] };

/** Keys of `guests` as VMIDs (`'103'` and `103` both mean 103). */
export type IdOf<K> = K extends number ? K : K extends `${infer N extends number}` ? N : never;

export interface ConfigSpec<
  K extends PropertyKey = Vmid,
  F extends string = string,
  S extends string = string,
  N extends string = string,
> {
  /** Proxmox node the guests live on, for a single node. Default `'pve'`. Excludes `nodes`. */
  node?: string;
  /**
   * The cluster's nodes, by Proxmox node name, and how Phoenix reaches each: `ssh://root@pve1[:port]`,
   * or `'local'` (this machine; the simulator with `--sim`). Guests name theirs in `node`; default
   * the first one. The cluster's state is read once, from the first node that answers.
   */
  nodes?: Record<N, string>;
  /** Storages the config uses, by Proxmox storage id. Phoenix checks them; it never creates storages. */
  storages?: Record<S, StorageSpec<NoInfer<N>>>;
  /** Provisioning scripts, by name. */
  features?: Record<F, FeatureDecl>;
  /**
   * Containers and VMs, keyed by VMID (100–999999999, unique across both kinds). `NoInfer`: the
   * ids come from the keys, feature and storage names from `features`/`storages`, never from a use.
   */
  guests: Record<K, GuestDecl<NoInfer<IdOf<K>>, NoInfer<F>, NoInfer<S>, NoInfer<NodeName<N>>>>;
  /** Data Phoenix carries but does not act on. */
  meta?: Record<string, unknown>;
}

/** What `defineConfig` returns: the spec as written, for the loader to validate. */
export type PhoenixConfig = ConfigSpec<PropertyKey, string, string, string>;

function declare<T extends LxcSpec | VmSpec>(kind: 'lxc' | 'vm', spec: T) {
  const decl = () => spec;
  Object.defineProperty(decl, 'kind', { value: kind, enumerable: true });
  Object.defineProperty(decl, 'spec', { value: spec, enumerable: true });
  Object.defineProperty(decl, GUEST_DECL, { value: true });
  return decl;
}

/** Declare an LXC container. Its VMID is its key in `guests`. */
export function lxc<
  Id extends Vmid = Vmid,
  F extends string = string,
  S extends string = string,
  N extends string = string,
>(spec: LxcSpec<NoInfer<Id>, NoInfer<F>, NoInfer<S>, NoInfer<N>>): LxcDecl<Id, F, S, N> {
  return declare('lxc', spec as LxcSpec) as unknown as LxcDecl<Id, F, S, N>;
}

/** Declare a QEMU VM. Its VMID is its key in `guests`. */
export function vm<
  Id extends Vmid = Vmid,
  F extends string = string,
  S extends string = string,
  N extends string = string,
>(spec: VmSpec<NoInfer<Id>, NoInfer<F>, NoInfer<S>, NoInfer<N>>): VmDecl<Id, F, S, N> {
  return declare('vm', spec as VmSpec) as unknown as VmDecl<Id, F, S, N>;
}

/**
 * The config. An identity function whose job is the types: `cloneFrom`/`dependsOn` accept only
 * declared guest ids, `features` only declared feature names, storage fields only declared storages.
 */
export function defineConfig<
  K extends PropertyKey,
  F extends string = never,
  S extends string = never,
  N extends string = never,
>(config: ConfigSpec<K, F, S, N>): PhoenixConfig {
  return config as unknown as PhoenixConfig;
}

const SECRETS = Symbol.for('phoenix-pve.secrets');

/**
 * A secret read from the environment when the config loads (a cloud-init password, SSH keys), so
 * it is never written in the config. Unset: `undefined`, and Phoenix leaves the value on the host
 * as it is. `phoenix check` lists the variables read and whether they are set.
 */
export function fromEnv(name: string): string | undefined {
  const g = globalThis as { [SECRETS]?: Map<string, boolean> };
  g[SECRETS] ??= new Map();
  // No `process` in the types: a config project need not have @types/node.
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name];
  g[SECRETS].set(name, value !== undefined && value !== '');
  return value === '' ? undefined : value;
}

/** The variables `fromEnv` read in this process (name → set), for `phoenix check`. */
export function secretsRead(): Map<string, boolean> {
  return (globalThis as { [SECRETS]?: Map<string, boolean> })[SECRETS] ?? new Map();
}
