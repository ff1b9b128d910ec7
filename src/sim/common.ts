// Operations pct and qm share through pve-guest-common (AbstractConfig, GuestHelpers):
// snapshots, the snapshot tree listing, pending changes.
import {
  type ConfSection,
  cloneSection,
  emptyConf,
  encodeText,
  type GuestKind,
  parseProps,
} from '../pve/format/index.js';
import { type Params, paramNum, paramStr } from './args.js';
import type { Ctx } from './context.js';
import { PveDie } from './errors.js';
import { checkLock, DRIVE_RE, isTemplate, lxcMountpoints, nowS } from './guest.js';
import { hasFeature, splitVolid } from './storage.js';

/**
 * Every volume `has_feature` visits: LXC `foreach_volume` gives rootfs and every mpN, bind and
 * device mounts included (pve-container src/PVE/LXC/Config.pm:88-113); QEMU every drive but
 * CD-ROMs, pass-through paths included (qemu-server src/PVE/QemuConfig.pm:74-93). A plain path has
 * no features (`volume_has_feature` returns undef, pve-storage src/PVE/Storage.pm:502-516).
 */
function featureVolumes(kind: GuestKind, sec: ConfSection): string[] {
  if (kind === 'lxc') return lxcMountpoints(sec).map((v) => v.volid);
  const out: string[] = [];
  for (const key of Object.keys(sec.props).sort()) {
    if (!DRIVE_RE.test(key)) continue;
    const props = parseProps(sec.props[key]!, 'file');
    if (props.media === 'cdrom' || !props.file || props.file === 'none') continue;
    out.push(props.file);
  }
  return out;
}

/** Keys `__snapshot_copy_config` does not copy into a snapshot section. */
const NOT_IN_SNAPSHOT = new Set([
  'snapshots',
  'snapstate',
  'snaptime',
  'vmstate',
  'lock',
  'digest',
  'description',
  'pending',
]);

export function snapshotCreate(
  ctx: Ctx,
  kind: GuestKind,
  vmid: number,
  name: string,
  description?: string,
): void {
  const reserved = kind === 'lxc' ? ['current', 'vzdump'] : ['current', 'pending'];
  if (reserved.includes(name.toLowerCase()))
    throw new PveDie(`unable to use snapshot name '${name}' (reserved name)`);
  ctx.task(true, () => {
    ctx.host.withConfigLock(kind, vmid, 10, () => {
      const conf = ctx.host.loadConf(kind, vmid);
      if (isTemplate(conf.main)) throw new PveDie(`you can't take a snapshot if it's a template`);
      checkLock(conf.main, kind);
      if (conf.snapshots[name]) throw new PveDie(`snapshot name '${name}' already used`);
      // __snapshot_prepare (pve-guest-common src/PVE/AbstractConfig.pm:753-756).
      for (const volid of featureVolumes(kind, conf.main)) {
        const v = volid.startsWith('/') ? undefined : splitVolid(volid);
        const s = v && ctx.host.storage(v.sid);
        if (!s || !hasFeature(s, 'snapshot', v.volname))
          throw new PveDie('snapshot feature is not available');
      }
      const snap = cloneSection(conf.main);
      delete snap.description;
      for (const k of Object.keys(snap.props))
        if (NOT_IN_SNAPSHOT.has(k) || /^unused\d+$/.test(k)) delete snap.props[k];
      snap.props.snapstate = 'prepare';
      snap.props.snaptime = String(nowS());
      if (description) snap.description = description;
      conf.snapshots[name] = snap;
      conf.main.props.lock = 'snapshot';
      ctx.host.writeConf(kind, vmid, conf);
    });
    try {
      ctx.faultPoint([vmid]);
      ctx.sleep('snapshot');
    } catch (e) {
      // __snapshot_create: "snapshot create failed: starting cleanup", then the snapshot is deleted.
      ctx.out('snapshot create failed: starting cleanup\n');
      ctx.host.withConfigLock(kind, vmid, 10, () => {
        const conf = ctx.host.loadConf(kind, vmid);
        delete conf.snapshots[name];
        if (conf.main.props.lock === 'snapshot') delete conf.main.props.lock;
        ctx.host.writeConf(kind, vmid, conf);
      });
      throw e;
    }
    ctx.host.withConfigLock(kind, vmid, 10, () => {
      const conf = ctx.host.loadConf(kind, vmid);
      const snap = conf.snapshots[name];
      if (snap) delete snap.props.snapstate;
      delete conf.main.props.lock;
      conf.main.props.parent = name;
      ctx.host.writeConf(kind, vmid, conf);
    });
  });
}

export function snapshotDelete(ctx: Ctx, kind: GuestKind, vmid: number, name: string, force: boolean): void {
  ctx.task(true, () => {
    ctx.host.withConfigLock(kind, vmid, 10, () => {
      const conf = ctx.host.loadConf(kind, vmid);
      checkLock(conf.main, kind);
      if (isTemplate(conf.main)) throw new PveDie(`you can't delete a snapshot if vm is a template`);
      const snap = conf.snapshots[name];
      if (!snap) throw new PveDie(`snapshot '${name}' does not exist`);
      snap.props.snapstate = 'delete';
      conf.main.props.lock = 'snapshot-delete';
      ctx.host.writeConf(kind, vmid, conf);
    });
    ctx.faultPoint([vmid]);
    ctx.sleep('delsnapshot');
    void force;
    ctx.host.withConfigLock(kind, vmid, 10, () => {
      const conf = ctx.host.loadConf(kind, vmid);
      const snap = conf.snapshots[name];
      const parent = snap?.props.parent;
      for (const other of Object.values(conf.snapshots)) {
        if (other.props.parent === name) {
          if (parent) other.props.parent = parent;
          else delete other.props.parent;
        }
      }
      if (conf.main.props.parent === name) {
        if (parent) conf.main.props.parent = parent;
        else delete conf.main.props.parent;
      }
      delete conf.snapshots[name];
      delete conf.main.props.lock;
      ctx.host.writeConf(kind, vmid, conf);
    });
  });
}

export function snapshotRollback(
  ctx: Ctx,
  kind: GuestKind,
  vmid: number,
  name: string,
  start: boolean,
  startFn: (vmid: number) => void,
): void {
  ctx.task(true, () => {
    ctx.host.withConfigLock(kind, vmid, 10, () => {
      const conf = ctx.host.loadConf(kind, vmid);
      if (isTemplate(conf.main)) throw new PveDie(`you can't rollback if vm is a template`);
      const snap = conf.snapshots[name];
      if (!snap) throw new PveDie(`snapshot '${name}' does not exist`);
      checkLock(conf.main, kind);
      if (snap.props.snapstate) {
        throw new PveDie(`unable to rollback to incomplete snapshot (snapstate = ${snap.props.snapstate})`);
      }
      if (ctx.host.isRunning(vmid)) ctx.host.setStatus(vmid, 'stopped');
      conf.main.props.lock = 'rollback';
      ctx.host.writeConf(kind, vmid, conf);
    });
    ctx.faultPoint([vmid]);
    ctx.sleep('rollback');
    ctx.host.withConfigLock(kind, vmid, 10, () => {
      const conf = ctx.host.loadConf(kind, vmid);
      const snap = conf.snapshots[name]!;
      const next = cloneSection(snap);
      delete next.props.snaptime;
      delete next.props.snapstate;
      delete next.props.vmstate;
      if (conf.main.description !== undefined) next.description = conf.main.description;
      else delete next.description;
      for (const [k, v] of Object.entries(conf.main.props)) if (/^unused\d+$/.test(k)) next.props[k] = v;
      next.props.parent = name;
      conf.main = next;
      delete conf.pending;
      ctx.host.writeConf(kind, vmid, conf);
    });
    if (start) startFn(vmid);
  });
}

/** `pct listsnapshot` / `qm listsnapshot`: the tree as GuestHelpers::print_snapshot_tree prints it. */
export function listSnapshotTree(ctx: Ctx, kind: GuestKind, vmid: number): void {
  const conf = ctx.host.loadConf(kind, vmid);
  ctx.sleep('read');
  interface Node {
    name: string;
    snaptime?: number;
    description: string;
    parent?: string;
  }
  const nodes: Node[] = Object.entries(conf.snapshots).map(([name, s]) => {
    const n: Node = {
      name,
      description: (s.description ?? '').split('\n')[0] || 'no-description',
    };
    if (s.props.snaptime) n.snaptime = Number(s.props.snaptime);
    if (s.props.parent) n.parent = s.props.parent;
    return n;
  });
  const current: Node = { name: 'current', description: 'You are here!' };
  if (conf.main.props.parent) current.parent = conf.main.props.parent;
  nodes.push(current);
  const byTime = (a: Node, b: Node): number =>
    a.name === 'current' ? 1 : b.name === 'current' ? -1 : (a.snaptime ?? 0) - (b.snaptime ?? 0);
  const exists = new Set(nodes.map((n) => n.name));
  const print = (n: Node, depth: number): void => {
    const prefix = `${' '.repeat(depth)}\`->`;
    const len = 30 - prefix.length;
    const time = n.snaptime ? fmtTime(n.snaptime) : '';
    ctx.out(`${prefix} ${n.name.padEnd(len)} ${time.padEnd(23)} ${n.description}\n`);
    for (const c of nodes.filter((x) => x.parent === n.name).sort(byTime)) print(c, depth + 1);
  };
  for (const root of nodes.filter((n) => !n.parent || !exists.has(n.parent)).sort(byTime)) print(root, 0);
}

function fmtTime(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `pct pending` / `qm pending` (pve-guest-common GuestHelpers::format_pending). */
export function printPending(ctx: Ctx, kind: GuestKind, vmid: number): void {
  const conf = ctx.host.loadConf(kind, vmid);
  ctx.sleep('read');
  const cur: Record<string, string> = { ...conf.main.props };
  const pend: Record<string, string> = { ...(conf.pending?.props ?? {}) };
  const del = new Set(
    (pend.delete ?? '')
      .split(',')
      .filter(Boolean)
      .map((d) => d.replace(/^!/, '')),
  );
  delete pend.delete;
  if (conf.main.description !== undefined) cur.description = encodeText(conf.main.description);
  if (conf.pending?.description !== undefined) pend.description = encodeText(conf.pending.description);
  const keys = [...new Set([...Object.keys(cur), ...Object.keys(pend), ...del])].sort();
  for (const k of keys) {
    const v = cur[k];
    const p = pend[k];
    if (v !== undefined) {
      if (del.has(k)) ctx.out(`del ${k}: ${v}\n`);
      else if (p !== undefined) ctx.out(`cur ${k}: ${v}\nnew ${k}: ${p}\n`);
      else ctx.out(`cur ${k}: ${v}\n`);
    } else if (p !== undefined) ctx.out(`new ${k}: ${p}\n`);
  }
  if (kind === 'lxc') for (const [k, v] of conf.main.lxc) ctx.out(`cur ${k}: ${v}\n`);
}

/**
 * `pct`/`qm` `snapshot`, `delsnapshot`, `rollback` and `listsnapshot`: one AbstractConfig code
 * path for both kinds (pve-guest-common src/PVE/AbstractConfig.pm), `start` starting the guest
 * after `rollback --start`.
 */
export function snapshotCommands(kind: GuestKind, start: (ctx: Ctx, vmid: number) => void) {
  const vmid = (p: Params): number => paramNum(p, 'vmid');
  const name = (p: Params): string => paramStr(p, 'snapname')!;
  return {
    snapshot: (ctx: Ctx, p: Params): void =>
      snapshotCreate(ctx, kind, vmid(p), name(p), paramStr(p, 'description')),
    delsnapshot: (ctx: Ctx, p: Params): void =>
      snapshotDelete(ctx, kind, vmid(p), name(p), paramStr(p, 'force') === '1'),
    rollback: (ctx: Ctx, p: Params): void =>
      snapshotRollback(ctx, kind, vmid(p), name(p), paramStr(p, 'start') === '1', (id) => start(ctx, id)),
    listsnapshot: (ctx: Ctx, p: Params): void => listSnapshotTree(ctx, kind, vmid(p)),
  };
}

/** The end of a destroy: the config keeps `lock: destroyed` until it is removed; `--purge` says so. */
export function removeDestroyed(ctx: Ctx, kind: GuestKind, vmid: number, purge: boolean): void {
  const gone = emptyConf();
  gone.main.props.lock = 'destroyed';
  ctx.host.writeConf(kind, vmid, gone);
  if (purge) ctx.out(`purging ${kind === 'lxc' ? 'CT' : 'VM'} ${vmid} from related configurations..\n`);
  ctx.host.removeConf(kind, vmid);
}

/** `pct unlock` / `qm unlock`: removes `lock:` under the config lock; pct dies when there is none. */
export function unlockGuest(ctx: Ctx, kind: GuestKind, vmid: number): void {
  ctx.host.withConfigLock(kind, vmid, 10, () => {
    const conf = ctx.host.loadConf(kind, vmid);
    if (kind === 'lxc' && !conf.main.props.lock) throw new PveDie('no lock found trying to remove any lock');
    delete conf.main.props.lock;
    ctx.host.writeConf(kind, vmid, conf);
  });
}

/**
 * `create_and_lock_config`: under a 5 s config flock, refuses a VMID used anywhere in the cluster
 * and writes a config holding only `lock: create` (pve-guest-common src/PVE/AbstractConfig.pm:254).
 */
export function createAndLockConfig(ctx: Ctx, kind: GuestKind, vmid: number): void {
  ctx.host.withConfigLock(kind, vmid, 5, () => {
    ctx.host.checkVmidUnused(vmid);
    const conf = emptyConf();
    conf.main.props.lock = 'create';
    ctx.host.writeConf(kind, vmid, conf);
  });
}
