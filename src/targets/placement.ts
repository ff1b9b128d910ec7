// Guests on the nodes of a cluster: where a clone is made when its source lives on another node,
// and how a guest whose declared `node` changed moves there (a migration, never a re-creation).
// The decisions are pure functions of the config and one state read, following what Proxmox
// itself allows; the `node` target at the end is their thin I/O edge.
import type { Config, Guest, Vmid } from '../dsl/model.js';
import { parsePropertyString } from '../pve/format/index.js';
import type { GuestState, HostState, PowerStatus } from '../pve/state.js';
import { type StepContext, StepError, type StepHost, type TargetContext } from '../runner/types.js';
import { kindOf, must, nodeOf, tool } from './common.js';

// ---------------------------------------------------------------------------------------------
// Storages

/** What placement needs to know of a storage, over the whole cluster. */
export interface StorageFacts {
  type: string;
  shared: boolean;
  /** Nodes on which the storage is enabled (`/cluster/resources` lists it once per such node). */
  nodes: Set<string>;
}

/**
 * Types pve-storage always marks shared, whatever storage.cfg says (src/PVE/Storage/Plugin.pm:37-39
 * `@SHARED_STORAGE`, applied by `parse_config`, Plugin.pm:603-604).
 */
const ALWAYS_SHARED = new Set(['iscsi', 'nfs', 'cifs', 'rbd', 'cephfs', 'iscsidirect', 'zfs', 'drbd', 'pbs']);

/**
 * Per storage id: its type, whether it is shared (the `shared` field of `/cluster/resources`'s
 * storage entries, pve-manager PVE/API2Tools.pm:133) and the nodes it is enabled on.
 */
export function storageFacts(state: HostState): Map<string, StorageFacts> {
  const out = new Map<string, StorageFacts>();
  for (const [node, storages] of state.storages) {
    for (const s of storages.values()) {
      if (!s.enabled) continue;
      let f = out.get(s.id);
      if (!f) {
        f = { type: s.type, shared: false, nodes: new Set() };
        out.set(s.id, f);
      }
      f.shared ||= s.shared === true || ALWAYS_SHARED.has(s.type);
      f.nodes.add(node);
    }
  }
  return out;
}

/** A storage is on a node when the state says so; one the state does not know is left to Proxmox. */
function onNode(facts: Map<string, StorageFacts>, storage: string, node: string): boolean {
  const f = facts.get(storage);
  return !f || f.nodes.has(node);
}

const isShared = (facts: Map<string, StorageFacts>, storage: string) => facts.get(storage)?.shared === true;

/**
 * Whether a linked clone on this storage could later migrate. A local linked clone whose volume
 * name encodes its base (dir/btrfs `900/base-900-disk-0.qcow2/101/vm-101-disk-0.qcow2`,
 * pve-storage Plugin.pm:802-807; ZFS `basevol-900-disk-0/subvol-101-disk-0`, ZFSPoolPlugin.pm:144-147)
 * is refused by migration (`clone of '<base>'`, pve-container src/PVE/LXC/Migrate.pm:325-327;
 * qemu-server src/PVE/QemuMigrate.pm:584-586). LVM-thin names it `vm-101-disk-0` with no base
 * (LvmThinPlugin.pm:68-69), so the migration copies it like any volume.
 */
const linkedCloneMigrates = (type: string | undefined) => type === 'lvmthin';

// ---------------------------------------------------------------------------------------------
// A clone's source volumes

export interface SourceVolume {
  /** Config key: `rootfs`, `mp0`, `scsi0`, `ide2`... */
  key: string;
  /** Storage id; undefined for a bind mount, a device or a host path. */
  storage?: string;
  /** The full volume id or path as the config writes it. */
  volume: string;
  /** A CD-ROM drive (a VM's cloud-init drive, an ISO). */
  cdrom?: boolean;
}

const LXC_CLONED = /^(rootfs|mp\d+)$/;
const QEMU_DRIVE = /^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$/;

/** The volumes of a config section as clone_vm walks them (unused volumes are skipped by both). */
export function volumesOf(kind: 'lxc' | 'vm', props: Record<string, string>): SourceVolume[] {
  const out: SourceVolume[] = [];
  for (const [key, raw] of Object.entries(props)) {
    if (!(kind === 'lxc' ? LXC_CLONED : QEMU_DRIVE).test(key)) continue;
    const p = parsePropertyString(raw, kind === 'lxc' ? 'volume' : 'file');
    if (!p.ok) continue;
    const volume = (kind === 'lxc' ? p.value.volume : p.value.file) ?? '';
    // `none` (empty drive) and `cdrom` (the host's drive) name no storage (qemu-server
    // API2/Qemu.pm:282-325 `check_storage_access_clone` returns early or asks Sys.Console).
    if (!volume || volume === 'none' || volume === 'cdrom') continue;
    const sid = /^([a-zA-Z][\w.-]*):/.exec(volume)?.[1];
    const v: SourceVolume = {
      key,
      volume,
      ...(sid !== undefined && !volume.startsWith('/') && { storage: sid }),
    };
    if (kind === 'vm' && p.value.media === 'cdrom') v.cdrom = true;
    out.push(v);
  }
  return out;
}

/**
 * What a declared guest not yet made will have: an LXC rootfs and ZFS volumes on their declared
 * storages, bind mounts; a VM's boot disk and cloud-init drive on its storage. A clone's disks
 * are on its own source's storages.
 */
function declaredVolumes(config: Config, g: Guest, seen = new Set<Vmid>()): SourceVolume[] {
  if (g.cloneFrom !== undefined && !seen.has(g.vmid)) {
    const src = config.guests.get(g.cloneFrom);
    seen.add(g.vmid);
    if (src) return declaredVolumes(config, src, seen);
  }
  if (g.kind === 'lxc') {
    return [
      { key: 'rootfs', storage: g.rootfs.storage, volume: `${g.rootfs.storage}:${g.rootfs.sizeGb}` },
      ...g.zfsVolumes.map((z, i) => ({
        key: `mp${i}`,
        storage: z.storage,
        volume: `${z.storage}:${z.sizeGb}`,
      })),
    ];
  }
  return [
    { key: 'scsi0', storage: g.storage, volume: `${g.storage}:0` },
    { key: 'ide2', storage: g.storage, volume: `${g.storage}:cloudinit`, cdrom: true },
  ];
}

/** The volumes a clone copies: the source's config (or the snapshot it names), else its declaration. */
export function cloneSourceVolumes(config: Config, state: HostState, g: Guest): SourceVolume[] {
  if (g.cloneFrom === undefined) return [];
  const gs = state.guests.get(g.cloneFrom);
  if (gs) {
    const section = g.cloneSnapshot !== undefined ? gs.conf.snapshots[g.cloneSnapshot] : undefined;
    return volumesOf(gs.kind, (section ?? gs.conf.main).props);
  }
  const decl = config.guests.get(g.cloneFrom);
  return decl ? declaredVolumes(config, decl) : [];
}

/**
 * The node the source will be on when the clone is made: a declared source is moved to its
 * declared node first (the clone waits for its whole build); one only on the host stays put.
 */
export function cloneSourceNode(config: Config, state: HostState, g: Guest): string | undefined {
  if (g.cloneFrom === undefined) return undefined;
  const decl = g.cloneSourceOnHost ? undefined : config.guests.get(g.cloneFrom);
  if (decl) return nodeOf({ config, guest: decl });
  return state.guests.get(g.cloneFrom)?.node;
}

// ---------------------------------------------------------------------------------------------
// Cross-node clones

export type ClonePlacement =
  /** The source is on the clone's node: a plain clone. */
  | { how: 'here'; runOn: string }
  /** `--target`: Proxmox clones on the source's node and moves the new config over. */
  | { how: 'target'; runOn: string; to: string; why: string }
  /** Clone on the source's node, then migrate; `full` when a linked clone could not migrate. */
  | { how: 'migrate'; runOn: string; to: string; full: boolean; why: string }
  | { how: 'refused'; runOn: string; to: string; why: string };

export interface CloneQuestion {
  kind: 'lxc' | 'vm';
  source: Vmid;
  /** Where the source is (or will be) when the clone runs. */
  sourceNode: string;
  /** The clone's declared node. */
  node: string;
  /** A template source gives a linked clone by default (pve-container API2/LXC.pm:2050, qemu-server API2/Qemu.pm:4480). */
  sourceTemplate: boolean;
  volumes: SourceVolume[];
  facts: Map<string, StorageFacts>;
}

/**
 * `--target` is allowed only when every volume the clone copies is on shared storage: pve-container
 * src/PVE/API2/LXC.pm:2063-2081,2124-2125 (`can't clone CT to node '…' (CT uses local storage)`),
 * qemu-server src/PVE/API2/Qemu.pm:282-325,4490-4499 (`can't clone VM to node '…' (VM uses local
 * storage)`; a VM's cloud-init drive and ISOs count too). A linked clone of a template on shared
 * storage is allowed: the new volume is on the same shared storage and only the config moves
 * (LXC.pm:2285-2295 `move_config_to_node`, Qemu.pm:4693-4708). Otherwise the clone is made on the
 * source's node and migrated, which needs every storage enabled on the target node (LXC/Migrate.pm:80-107,
 * QemuServer.pm:2234-2258 `check_storage_availability`).
 */
export function decideClone(q: CloneQuestion): ClonePlacement {
  const { sourceNode: runOn, node: to, facts } = q;
  if (runOn === to) return { how: 'here', runOn };
  const stored = q.volumes.filter((v): v is SourceVolume & { storage: string } => v.storage !== undefined);
  const missing = [...new Set(stored.map((v) => v.storage))].filter((s) => !onNode(facts, s, to));
  const perNode = `declare a template on ${to} to clone there`;
  if (missing.length) {
    return {
      how: 'refused',
      runOn,
      to,
      why: `storage ${missing.join(', ')} of ${q.source} is not available on ${to}; ${perNode}`,
    };
  }
  const local = stored.filter((v) => !isShared(facts, v.storage));
  const hostPaths = q.volumes.filter((v) => v.storage === undefined);
  if (!local.length && !hostPaths.length) {
    const sids = [...new Set(stored.map((v) => v.storage))].join(', ');
    return { how: 'target', runOn, to, why: `${q.source}'s disks are on shared storage ${sids || '(none)'}` };
  }
  // An ISO on local storage blocks both ways: no `--target`, and `local cdrom image` refuses the
  // migration (qemu-server src/PVE/QemuMigrate.pm:473-479); only the cloud-init drive moves.
  const iso = local.find((v) => v.cdrom && !/cloudinit/.test(v.volume));
  if (iso) {
    return {
      how: 'refused',
      runOn,
      to,
      why: `${q.source}'s ${iso.key} holds ${iso.volume} on local storage, which neither --target nor a migration takes; detach it from the template or ${perNode}`,
    };
  }
  const first = local[0] ?? hostPaths[0]!;
  const where = first.storage !== undefined ? `local storage ${first.storage}` : `host path ${first.volume}`;
  // Only disks are linked-cloned: a cloud-init drive is always copied (qemu-server API2/Qemu.pm:4547-4559).
  const blocking = q.sourceTemplate
    ? local.find((v) => !v.cdrom && !linkedCloneMigrates(facts.get(v.storage)?.type))
    : undefined;
  const full = blocking !== undefined;
  const fullWhy = blocking
    ? `; full clone: a linked clone on ${blocking.storage} (${facts.get(blocking.storage)?.type ?? 'unknown type'}) could not migrate`
    : '';
  return {
    how: 'migrate',
    runOn,
    to,
    full,
    why: `${q.source}'s ${first.key} is on ${where} (--target needs shared storage)${fullWhy}; or ${perNode}`,
  };
}

/** The clone placement for a guest in a planning or step context; undefined for a non-clone. */
export function clonePlacement(ctx: TargetContext): ClonePlacement | undefined {
  const g = ctx.guest;
  if (g.cloneFrom === undefined) return undefined;
  const to = nodeOf(ctx);
  const sourceNode = cloneSourceNode(ctx.config, ctx.state, g) ?? to;
  const srcGs = ctx.state.guests.get(g.cloneFrom);
  const srcDecl = ctx.config.guests.get(g.cloneFrom);
  return decideClone({
    kind: kindOf(g),
    source: g.cloneFrom,
    sourceNode,
    node: to,
    sourceTemplate: srcGs ? srcGs.template : (srcDecl?.template ?? false),
    volumes: cloneSourceVolumes(ctx.config, ctx.state, g),
    facts: storageFacts(ctx.state),
  });
}

/** The arguments a placement adds to `pct clone` / `qm clone`. */
export function placementArgs(p: ClonePlacement | undefined): string[] {
  if (p?.how === 'target') return ['--target', p.to];
  if (p?.how === 'migrate' && p.full) return ['--full'];
  return [];
}

/**
 * ` on pve1, then pct migrate 102 pve2 (offline): <why>`: where and why, for the plan; '' for a
 * clone on its own node.
 */
export function placementNote(p: ClonePlacement | undefined, vmid: Vmid, cmd: 'pct' | 'qm'): string {
  if (!p || p.how === 'here') return '';
  if (p.how === 'target') return ` on ${p.runOn} (--target ${p.to}: ${p.why})`;
  if (p.how === 'migrate') return ` on ${p.runOn}, then ${cmd} migrate ${vmid} ${p.to} (offline): ${p.why}`;
  return ` (cannot place it on ${p.to}: ${p.why})`;
}

/** Fails the step when Proxmox could not place the clone on its node (before anything runs). */
export function placeable(
  g: Guest,
  place: ClonePlacement | undefined,
): Exclude<ClonePlacement, { how: 'refused' }> | undefined {
  if (place?.how === 'refused')
    throw new StepError(`guest ${g.vmid}: cannot clone ${g.cloneFrom} onto ${place.to}: ${place.why}`);
  return place;
}

/** The node the new guest is on once the clone command returns. */
export function landingNode(p: ClonePlacement): string {
  return p.how === 'target' ? p.to : p.runOn;
}

// ---------------------------------------------------------------------------------------------
// Migration

/** How long the guest is unavailable: not running anyway, restarted on the target, or live. */
export type Downtime = 'offline' | 'restart' | 'online';

export type Migration =
  | { ok: true; from: string; to: string; downtime: Downtime; cmd: 'pct' | 'qm'; args: string[] }
  | { ok: false; from: string; to: string; why: string };

const LXC_MIGRATED = /^(rootfs|mp\d+|unused\d+)$/;
const QEMU_MIGRATED = /^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$|^unused\d+$/;
/** A linked clone's volume that names its base (see `linkedCloneMigrates`). */
const NAMES_BASE = /^[^:]+:(?:\d+\/[^/]+\/\d+\/|(?:base|basevol)-\d+-[^/]+\/)/;

function migratedVolumes(gs: GuestState, props: Record<string, string>) {
  const lxc = gs.kind === 'lxc';
  const out: Array<SourceVolume & { shareFlag: boolean }> = [];
  for (const [key, raw] of Object.entries(props)) {
    if (!(lxc ? LXC_MIGRATED : QEMU_MIGRATED).test(key)) continue;
    const p = parsePropertyString(raw, lxc ? 'volume' : 'file');
    if (!p.ok) continue;
    const volume = (lxc ? p.value.volume : p.value.file) ?? '';
    if (!volume || volume === 'none') continue;
    const sid = volume.startsWith('/') ? undefined : /^([a-zA-Z][\w.-]*):/.exec(volume)?.[1];
    out.push({
      key,
      volume,
      ...(sid !== undefined && { storage: sid }),
      ...(!lxc && p.value.media === 'cdrom' && { cdrom: true }),
      shareFlag: p.value.shared === '1',
    });
  }
  return out;
}

/** Why Proxmox would refuse this migration, or undefined. */
function migrationRefusal(gs: GuestState, to: string, facts: Map<string, StorageFacts>, running: boolean) {
  const lxc = gs.kind === 'lxc';
  for (const v of migratedVolumes(gs, gs.conf.main.props)) {
    if (v.storage === undefined) {
      if (lxc && v.shareFlag) continue;
      if (v.volume === 'cdrom')
        return `${v.key}: can't migrate local cdrom drive (qemu-server src/PVE/QemuMigrate.pm:416-424)`;
      // pve-container src/PVE/LXC/Migrate.pm:66-72; qemu-server src/PVE/QemuMigrate.pm:408-412.
      return lxc
        ? `cannot migrate local bind mount point '${v.key}' (${v.volume}); mark it shared=1 if ${to} has the same folder (pve-container src/PVE/LXC/Migrate.pm:66-72)`
        : `${v.key}: local file/device ${v.volume} (qemu-server src/PVE/QemuMigrate.pm:408-412)`;
    }
    if (!onNode(facts, v.storage, to))
      return `storage '${v.storage}' (${v.key}) is not available on node '${to}' (pve-container src/PVE/LXC/Migrate.pm:101-104, qemu-server src/PVE/QemuServer.pm:2249-2250)`;
    if (isShared(facts, v.storage)) continue;
    const type = facts.get(v.storage)?.type;
    if (!lxc && v.cdrom && !/vm-\d+-cloudinit/.test(v.volume))
      return `${v.key}: local cdrom image ${v.volume} (qemu-server src/PVE/QemuMigrate.pm:473-479)`;
    if (type !== undefined && !/^(dir|btrfs|zfspool|lvmthin|lvm)$/.test(type))
      return `storage type '${type}' of ${v.storage} not supported for migration (pve-container src/PVE/LXC/Migrate.pm:313-323, qemu-server src/PVE/QemuMigrate.pm:576-582)`;
    if (NAMES_BASE.test(v.volume))
      return `${v.volume} is a linked clone on local storage ${v.storage} (pve-container src/PVE/LXC/Migrate.pm:325-327, qemu-server src/PVE/QemuMigrate.pm:584-586)`;
  }
  for (const [name, section] of Object.entries(gs.conf.snapshots)) {
    for (const v of migratedVolumes(gs, section.props)) {
      if (v.storage === undefined || isShared(facts, v.storage)) continue;
      const type = facts.get(v.storage)?.type;
      if (!lxc && running)
        return `snapshot '${name}' on local storage ${v.storage}: online storage migration not possible (qemu-server src/PVE/QemuMigrate.pm:500-501)`;
      const ok = lxc
        ? type === 'zfspool' || type === 'btrfs'
        : type === 'zfspool' || /\.qcow2$/.test(v.volume) || (type === 'btrfs' && !/\.\w+$/.test(v.volume));
      if (!ok)
        return `non-migratable snapshot '${name}' on local storage ${v.storage} (${type ?? 'unknown type'}) (pve-container src/PVE/LXC/Migrate.pm:252-258, qemu-server src/PVE/QemuMigrate.pm:505-513)`;
    }
  }
  return undefined;
}

/**
 * `pct migrate` / `qm migrate` for a guest now on `gs.node`. A running CT is migrated with
 * `--restart` (live migration of CTs is not implemented: pve-container src/PVE/API2/LXC.pm:1694-1698,
 * src/PVE/LXC/Migrate.pm:51-53); a running VM `--online` (qemu-server src/PVE/API2/Qemu.pm:5594-5595),
 * plus `--with-local-disks` when it has local disks (src/PVE/QemuMigrate.pm:537-545). A stopped
 * guest migrates offline; its disks are copied and its config (description, Phoenix's stamps) moves
 * as is. A status Phoenix does not know gets the running flags: they are harmless on a stopped
 * guest (LXC/Migrate.pm:164-165 restarts only a running CT; Qemu.pm:5604-5608 falls back to offline).
 */
export function planMigration(
  gs: GuestState,
  to: string,
  facts: Map<string, StorageFacts>,
  status: PowerStatus = gs.status,
): Migration {
  const from = gs.node;
  const running = status !== 'stopped';
  const why = migrationRefusal(gs, to, facts, status === 'running');
  if (why) return { ok: false, from, to, why };
  const id = String(gs.vmid);
  if (gs.kind === 'lxc') {
    return running
      ? { ok: true, from, to, downtime: 'restart', cmd: 'pct', args: ['migrate', id, to, '--restart'] }
      : { ok: true, from, to, downtime: 'offline', cmd: 'pct', args: ['migrate', id, to] };
  }
  if (!running) return { ok: true, from, to, downtime: 'offline', cmd: 'qm', args: ['migrate', id, to] };
  const localDisks = migratedVolumes(gs, gs.conf.main.props).some(
    (v) => v.storage !== undefined && !v.cdrom && !/^unused/.test(v.key) && !isShared(facts, v.storage),
  );
  const args = ['migrate', id, to, '--online', ...(localDisks ? ['--with-local-disks'] : [])];
  return { ok: true, from, to, downtime: 'online', cmd: 'qm', args };
}

/** `migrate 103 pve1 → pve2 (restart: pct migrate 103 pve2 --restart)`. */
export function describeMigration(vmid: Vmid, m: Migration): string {
  if (!m.ok) return `cannot migrate ${vmid} ${m.from} → ${m.to}: ${m.why}`;
  return `migrate ${vmid} ${m.from} → ${m.to} (${m.downtime}: ${m.cmd} ${m.args.join(' ')})`;
}

// ---------------------------------------------------------------------------------------------
// Host access per node

/**
 * The host a command must run on: `pct`/`qm` act only on guests whose config is on the node they
 * run on (pve-container/qemu-server CLIs call the API with `node => nodename()`), so a clone runs
 * on its source's node and a migration on the guest's current node. A host without `on` (one
 * node, a test's host) is every node.
 */
export function hostOn(ctx: StepContext, node: string): StepHost {
  return ctx.host.on?.(node) ?? ctx.host;
}

/** The step context with its commands sent to `node`. */
export function onNodeCtx(ctx: StepContext, node: string): StepContext {
  return { ...ctx, host: hostOn(ctx, node) };
}

/**
 * Makes the clone where Proxmox allows it and leaves the new guest on its declared node: `clone`
 * runs the clone command (with `placementArgs`) in the context it is given, whose commands go to
 * the source's node; a clone that could not use `--target` is migrated right away, while it is
 * still stopped (an offline migration). One step, so a guest Phoenix reports made is where the
 * config says.
 */
export async function placeClone(
  ctx: StepContext,
  place: Exclude<ClonePlacement, { how: 'refused' }>,
  clone: (onSource: StepContext) => Promise<unknown>,
): Promise<void> {
  const g = ctx.guest;
  await clone(onNodeCtx(ctx, place.runOn));
  const landed = landingNode(place);
  const made = await ctx.host.readGuest(g.vmid, kindOf(g), landed, 'stopped');
  if (!made) throw new StepError(`${tool(g)} clone returned, but ${g.vmid}'s config is not on ${landed}`);
  if (place.how !== 'migrate') return;
  const m = planMigration(made, place.to, storageFacts(ctx.state), 'stopped');
  if (!m.ok) throw new StepError(describeMigration(g.vmid, m));
  await must(onNodeCtx(ctx, landed), m.cmd, m.args);
}
