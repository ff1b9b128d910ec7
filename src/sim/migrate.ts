// `pct migrate` and `qm migrate` inside one cluster: the API's early checks, then a `vzmigrate` /
// `qmigrate` worker that runs PVE::AbstractMigrate's phases under the migration lock and the
// config lock (pve-guest-common src/PVE/AbstractMigrate.pm:104-251), with the container side of
// pve-container src/PVE/LXC/Migrate.pm and the VM side of qemu-server src/PVE/QemuMigrate.pm.
import { type GuestConf, type GuestKind, parseProps, storageContent } from '../pve/format/index.js';
import { type Params, paramStr } from './args.js';
import { clusterNodes, isCluster, isNodeDown, isSharedStorage, nodeIpOf, storageOnNode } from './cluster.js';
import type { Ctx } from './context.js';
import { ParamError, PveDie, perlAt } from './errors.js';
import { checkLock, isCloudinit, lxcMountpoints, mpType, qemuDrives } from './guest.js';
import { withFileLock } from './lock.js';
import { splitVolid } from './storage.js';

/** `$msg2text`: local time stamp, `ERROR:` for errors (pve-guest-common src/PVE/AbstractMigrate.pm:15-28). */
function logLine(ctx: Ctx, level: 'info' | 'warn' | 'err', msg: string): void {
  const d = new Date();
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  const prefix = level === 'err' ? `${stamp} ERROR:` : stamp;
  for (const line of msg.replace(/\n+$/, '').split('\n')) if (line) ctx.out(`${prefix} ${line}\n`);
}

/** `check_cfs_quorum` (pve-cluster src/PVE/Cluster.pm:121-131): a majority of the nodes online. */
function checkQuorum(ctx: Ctx): void {
  if (!isCluster(ctx.host.root)) return;
  const nodes = clusterNodes(ctx.host.root);
  const online = nodes.filter((n) => !isNodeDown(ctx.host.root, n)).length;
  if (online * 2 <= nodes.length) throw new PveDie('cluster not ready - no quorum?');
}

/**
 * The API's checks before it forks (pve-container src/PVE/API2/LXC.pm:1678-1698, qemu-server
 * src/PVE/API2/Qemu.pm:5565-5576): the target is not this node, the cluster is quorate, the
 * target is a member (`check_node_exists`, pve-cluster src/PVE/Cluster.pm:799-808).
 */
function checkTarget(ctx: Ctx, target: string): void {
  if (target === ctx.host.node) throw new ParamError({ target: 'target is local node.' });
  checkQuorum(ctx);
  if (!isCluster(ctx.host.root) || !clusterNodes(ctx.host.root).includes(target))
    throw new PveDie(`no such cluster node '${target}'`);
}

/** `guest_migration_lock`: flock /var/lock/pve-manager/pve-migrate-<vmid>, 10 s (pve-guest-common src/PVE/GuestHelpers.pm:34, 86-97). */
function withMigrationLock(ctx: Ctx, vmid: number, fn: () => void): void {
  const shown = `/var/lock/pve-manager/pve-migrate-${vmid}`;
  withFileLock(ctx.io, ctx.host.hostPath(shown), shown, 10, false, fn);
}

interface Run {
  ctx: Ctx;
  kind: GuestKind;
  vmid: number;
  target: string;
  /** The target node's view (its local storages, its config folder, its locks). */
  there: Ctx;
  restart: boolean;
  online: boolean;
  withLocalDisks: boolean;
  wasRunning: boolean;
  running: boolean;
  conf: GuestConf;
  /** Local volumes copied to the target: source volid → target volid. */
  copied: Map<string, string>;
  confMigrated: boolean;
}

function log(r: Run, level: 'info' | 'warn' | 'err', msg: string): void {
  logLine(r.ctx, level, msg);
}

/** `ssh root@<target> /bin/true`: a down target does not answer (LXC/Migrate.pm:157-161, QemuMigrate.pm:357-361). */
function testSsh(r: Run): void {
  if (isNodeDown(r.ctx.host.root, r.target))
    throw new PveDie("Can't connect to destination address using public key");
}

/** `storage_check_enabled($storecfg, $sid, $node)` for the target node (pve-storage src/PVE/Storage.pm:264-291). */
function checkOnTarget(r: Run, sid: string): void {
  r.there.storage.get(sid);
}

/**
 * The linked-clone base of a volume as `parse_volname` reports it (`$basename`), if any. Only
 * storages whose volume names carry the base report one (dir-like `base-100-disk-0/vm-101-…`,
 * ZFS): LVM-thin returns undef even for a linked clone (pve-storage
 * src/PVE/Storage/LvmThinPlugin.pm:59-69), so migration does not refuse it.
 */
function baseOf(r: Run, volid: string): string | undefined {
  const vol = r.ctx.storage.volume(volid);
  const sid = splitVolid(volid)?.sid;
  if (sid && ['lvmthin', 'lvm'].includes(r.ctx.storage.get(sid).type)) return undefined;
  return vol?.linkedFrom?.split('/').pop();
}

// --- containers ------------------------------------------------------------------------------

/** LXC/Migrate.pm `prepare` (:36-176). */
function prepareCt(r: Run): void {
  const { ctx, vmid } = r;
  r.conf = ctx.host.loadConf('lxc', vmid);
  checkLock(r.conf.main, 'lxc');
  if (ctx.host.isRunning(vmid)) {
    if (r.online) throw new PveDie('lxc live migration is currently not implemented');
    if (!r.restart)
      throw new PveDie(
        perlAt(
          'running container can only be migrated in restart mode',
          '/usr/share/perl5/PVE/LXC/Migrate.pm',
          53,
        ),
      );
    r.running = true;
  }
  r.wasRunning = r.running;
  const unused = Object.keys(r.conf.main.props).filter((k) => /^unused\d+$/.test(k));
  const mps: Array<{ key: string; volid: string; props: Record<string, string> }> = [
    ...lxcMountpoints(r.conf.main),
    ...unused.map((key) => ({
      key,
      volid: r.conf.main.props[key]!,
      props: { volume: r.conf.main.props[key]! },
    })),
  ];
  for (const mp of mps) {
    const type = mpType(mp.volid);
    if (type !== 'volume') {
      if (mp.props.shared === '1') continue;
      throw new PveDie(`cannot migrate local ${type} mount point '${mp.key}'`);
    }
    const sid = splitVolid(mp.volid)?.sid;
    if (!sid) throw new PveDie(`can't determine assigned storage for mount point '${mp.key}'`);
    const s = ctx.storage.get(sid);
    if (!storageContent(s).includes('rootdir'))
      throw new PveDie(`content type 'rootdir' is not available on storage '${sid}'`);
    if (!isSharedStorage(s) && r.running && !r.restart)
      throw new PveDie(`unable to migrate local mount point '${mp.volid}' while CT is running`);
    checkOnTarget(r, sid);
  }
  testSsh(r);
  if (r.restart && r.running) {
    log(r, 'info', `shutdown CT ${vmid}`);
    ctx.sleep('shutdownCt');
    ctx.host.setStatus(vmid, 'stopped');
    r.running = false;
  }
}

/** Both `phase1`s begin alike: the log line, then `lock: migrate` in the config (LXC/Migrate.pm:178-190, QemuMigrate.pm:828-837). */
function startPhase1(r: Run): Run {
  const what = r.kind === 'lxc' ? 'CT' : 'VM';
  log(
    r,
    'info',
    `starting migration of ${what} ${r.vmid} to node '${r.target}' (${nodeIpOf(r.ctx.host.root, r.target)})`,
  );
  r.conf.main.props.lock = 'migrate';
  r.ctx.host.writeConf(r.kind, r.vmid, r.conf);
  return r;
}

/** LXC/Migrate.pm `phase1` (:178-476): `lock: migrate`, local volumes checked and copied, config moved. */
function phase1Ct(r: Run): void {
  const { ctx, vmid } = startPhase1(r);
  const errors = new Map<string, string>();
  const local: string[] = [];
  const test = (volid: string, snapname?: string): void => {
    const sid = splitVolid(volid)!.sid;
    const s = ctx.storage.get(sid);
    if (isSharedStorage(s)) {
      if (!snapname) log(r, 'info', `volume '${volid}' is on shared storage '${sid}'`);
      return;
    }
    checkOnTarget(r, sid);
    if (!local.includes(volid)) local.push(volid);
    const owner = ctx.storage.volume(volid)?.vmid;
    if (owner !== vmid) errors.set(volid, `owned by other guest (owner = ${owner ?? ''})`);
    // Snapshots only travel with zfspool/btrfs volumes (:255-259).
    else if (snapname && s.type !== 'zfspool' && s.type !== 'btrfs' && !errors.has(volid))
      errors.set(volid, 'non-migratable snapshot exists');
  };
  for (const [name, snap] of Object.entries(r.conf.snapshots))
    for (const mp of lxcMountpoints(snap)) if (mpType(mp.volid) === 'volume') test(mp.volid, name);
  for (const mp of lxcMountpoints(r.conf.main)) if (mpType(mp.volid) === 'volume') test(mp.volid);
  for (const [k, v] of Object.entries(r.conf.main.props)) if (/^unused\d+$/.test(k)) test(v);
  // Additional checks for local storage (:313-330): migratable types, no linked clone.
  for (const volid of local) {
    const s = ctx.storage.get(splitVolid(volid)!.sid);
    let err: string | undefined;
    if (!['dir', 'zfspool', 'lvmthin', 'lvm', 'btrfs'].includes(s.type))
      err = `storage type '${s.type}' not supported`;
    else if (baseOf(r, volid)) err = `clone of '${baseOf(r, volid)}'`;
    if (err && !errors.has(volid)) errors.set(volid, err);
  }
  for (const volid of [...local].sort())
    log(r, 'info', `found local volume '${volid}' (in current VM config)`);
  for (const volid of [...errors.keys()].sort())
    log(r, 'warn', `can't migrate local volume '${volid}': ${errors.get(volid)}`);
  if (errors.size > 0) throw new PveDie("can't migrate CT - check log");
  // Injected faults strike while `lock: migrate` is on and nothing has moved yet.
  ctx.faultPoint([vmid]);
  copyVolumes(r, local);
  moveConfig(r, /^(rootfs|mp\d+)$/, 'volume');
}

/** `update_volume_ids`, then `move_config_to_node` (LXC/Migrate.pm:470-472, QemuMigrate.pm:1690-1719). */
function moveConfig(r: Run, volumeKeys: RegExp, firstProp: 'volume' | 'file'): void {
  const props = r.conf.main.props;
  for (const [key, raw] of Object.entries(props)) {
    if (/^unused\d+$/.test(key)) props[key] = r.copied.get(raw) ?? raw;
    else if (volumeKeys.test(key)) {
      const vol = parseProps(raw, firstProp)[firstProp];
      const moved = vol && r.copied.get(vol);
      if (vol && moved) props[key] = raw.replace(vol, moved);
    }
  }
  r.ctx.host.writeConf(r.kind, r.vmid, r.conf);
  r.ctx.host.moveConfTo(r.kind, r.vmid, r.target);
  r.confMigrated = true;
}

/** `storage_migrate` per local volume (LXC/Migrate.pm:365-428, QemuMigrate.pm:713-783). */
function copyVolumes(r: Run, volids: string[]): void {
  for (const volid of volids) {
    r.ctx.sleep('migrateVolume');
    const moved = r.ctx.storage.migrateTo(volid, r.there.storage);
    r.copied.set(volid, moved);
    log(r, 'info', `volume '${volid}' is '${moved}' on the target`);
  }
}

/** `phase3`: the source's copies of migrated local volumes are freed (LXC/Migrate.pm:499-515). */
function phase3(r: Run): void {
  for (const volid of r.copied.keys()) r.ctx.storage.free(volid);
}

/** `pct unlock` / `qm unlock` on the target over ssh, as `final_cleanup` runs it. */
function unlockOnTarget(r: Run): void {
  const there = r.there.host;
  there.withConfigLock(r.kind, r.vmid, 10, () => {
    const conf = there.loadConf(r.kind, r.vmid);
    delete conf.main.props.lock;
    there.writeConf(r.kind, r.vmid, conf);
  });
}

function sshCmd(r: Run, cmd: string): string {
  return `# /usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias=${r.target} root@${nodeIpOf(r.ctx.host.root, r.target)} ${cmd}`;
}

/** LXC/Migrate.pm `final_cleanup` (:517-565). */
function finalCleanupCt(r: Run): void {
  log(r, 'info', 'start final cleanup');
  if (!r.confMigrated) {
    const conf = r.ctx.host.loadConf('lxc', r.vmid);
    if (conf.main.props.lock === 'migrate') {
      delete conf.main.props.lock;
      r.ctx.host.writeConf('lxc', r.vmid, conf);
    }
    if (r.restart && r.wasRunning) {
      log(r, 'info', 'start container on source node');
      r.ctx.sleep('startCt');
      r.ctx.host.setStatus(r.vmid, 'running', { startedAt: Date.now() });
    }
    return;
  }
  unlockOnTarget(r);
  if (r.restart && r.wasRunning) {
    log(r, 'info', 'start container on target node');
    log(r, 'info', sshCmd(r, `pct start ${r.vmid}`));
    r.there.sleep('startCt');
    r.there.host.setStatus(r.vmid, 'running', { startedAt: Date.now() });
  }
}

// --- virtual machines ------------------------------------------------------------------------

/** QemuMigrate.pm `prepare` (:183-365) for a migration inside the cluster. */
function prepareVm(r: Run): void {
  const { ctx, vmid } = r;
  r.conf = ctx.host.loadConf('qemu', vmid);
  checkLock(r.conf.main, 'qemu');
  if (ctx.host.isRunning(vmid)) {
    if (!r.online) throw new PveDie("can't migrate running VM without --online");
    r.running = true;
  }
  r.wasRunning = r.running;
  for (const d of qemuDrives(r.conf.main)) {
    const sid = splitVolid(d.volid)?.sid;
    if (!sid) continue;
    ctx.storage.get(sid);
    checkOnTarget(r, sid);
  }
  testSsh(r);
}

/** QemuMigrate.pm `scan_local_volumes` (:367-606) and `phase1` (:828-850). */
function phase1Vm(r: Run): void {
  const { ctx, vmid } = startPhase1(r);
  const local: Array<{ volid: string; ref: 'attached' | 'generated' | 'unused' }> = [];
  for (const d of qemuDrives(r.conf.main)) {
    const s = ctx.storage.get(splitVolid(d.volid)!.sid);
    if (isSharedStorage(s)) continue;
    local.push({ volid: d.volid, ref: isCloudinit(d.volid) ? 'generated' : 'attached' });
  }
  for (const [k, v] of Object.entries(r.conf.main.props)) {
    if (!/^unused\d+$/.test(k)) continue;
    if (!isSharedStorage(ctx.storage.get(splitVolid(v)!.sid))) local.push({ volid: v, ref: 'unused' });
  }
  local.sort((a, b) => (a.volid < b.volid ? -1 : 1));
  const errors = new Map<string, string>();
  for (const v of local) {
    if (v.ref === 'attached') {
      if (r.running && !r.withLocalDisks)
        errors.set(v.volid, "can't live migrate attached local disks without with-local-disks option");
      log(r, 'info', `found local disk '${v.volid}' (attached)`);
    } else if (v.ref === 'unused') log(r, 'info', `found local disk '${v.volid}' (unused)`);
    else log(r, 'info', `found generated disk '${v.volid}' (in current VM config)`);
  }
  for (const volid of [...errors.keys()].sort())
    log(r, 'warn', `can't migrate local disk '${volid}': ${errors.get(volid)}`);
  if (errors.size > 0) throw new PveDie("can't migrate VM - check log");
  ctx.faultPoint([vmid]);
  for (const v of local) {
    const s = ctx.storage.get(splitVolid(v.volid)!.sid);
    if (!['dir', 'btrfs', 'zfspool', 'lvmthin', 'lvm'].includes(s.type))
      throw new PveDie(`can't migrate '${v.volid}' - storage type '${s.type}' not supported`);
    const base = baseOf(r, v.volid);
    if (base)
      throw new PveDie(
        perlAt(
          `can't migrate '${v.volid}' as it's a clone of '${base}'`,
          '/usr/share/perl5/PVE/QemuMigrate.pm',
          586,
        ),
      );
  }
  // Offline: every local volume now; online: attached disks are mirrored in phase 2.
  const offline = local.filter((v) => !(r.running && v.ref === 'attached')).map((v) => v.volid);
  if (offline.length) log(r, 'info', 'copying local disk images');
  copyVolumes(r, offline);
  if (r.running) {
    const online = local.filter((v) => v.ref === 'attached').map((v) => v.volid);
    log(r, 'info', `starting VM ${vmid} on remote node '${r.target}'`);
    if (online.length) log(r, 'info', 'starting storage migration');
    copyVolumes(r, online);
    log(r, 'info', `starting online/live migration on unix:/run/qemu-server/${vmid}.migrate`);
    ctx.sleep('migrateRam');
  }
}

/** QemuMigrate.pm `phase3_cleanup` (:1690-1719): volume ids updated, config moved to the target. */
function finishVm(r: Run): void {
  moveConfig(r, /^(ide|sata|scsi|virtio)\d+$|^(efidisk0|tpmstate0)$/, 'file');
}

// --- the worker ------------------------------------------------------------------------------

function hms(ms: number): string {
  const s = Math.floor(ms / 1000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${p2(Math.floor(s / 3600))}:${p2(Math.floor(s / 60) % 60)}:${p2(s % 60)}`;
}

/** AbstractMigrate `migrate` (pve-guest-common src/PVE/AbstractMigrate.pm:104-251). */
function runMigration(r: Run): void {
  const started = Date.now();
  const { ctx, kind, vmid } = r;
  let error: string | undefined;
  try {
    ctx.host.withConfigLock(kind, vmid, 10, () => {
      if (kind === 'lxc') prepareCt(r);
      else prepareVm(r);
      ctx.sleep('migrate');
      try {
        if (kind === 'lxc') phase1Ct(r);
        else phase1Vm(r);
        if (kind === 'qemu') finishVm(r);
      } catch (e) {
        const msg = (e as Error).message;
        log(r, 'err', msg);
        log(r, 'info', 'aborting phase 1 - cleanup resources');
        for (const moved of r.copied.values())
          log(r, 'err', `found stale volume copy '${moved}' on node '${r.target}'`);
        finalCleanup(r);
        throw e;
      }
      phase3(r);
      finalCleanup(r);
    });
  } catch (e) {
    error = (e as Error).message;
  }
  const duration = hms(Date.now() - started);
  if (error !== undefined) {
    log(r, 'err', `migration aborted (duration ${duration}): ${error}`);
    throw new PveDie('migration aborted');
  }
  log(r, 'info', `migration finished successfully (duration ${duration})`);
}

function finalCleanup(r: Run): void {
  if (r.kind === 'lxc') {
    finalCleanupCt(r);
    return;
  }
  // QemuMigrate.pm `final_cleanup`: unlock on the target, or on the source when the config stayed.
  if (!r.confMigrated) {
    const conf = r.ctx.host.loadConf('qemu', r.vmid);
    if (conf.main.props.lock === 'migrate') {
      delete conf.main.props.lock;
      r.ctx.host.writeConf('qemu', r.vmid, conf);
    }
    return;
  }
  unlockOnTarget(r);
}

function newRun(ctx: Ctx, kind: GuestKind, p: Params): Run {
  const target = paramStr(p, 'target')!;
  return {
    ctx,
    kind,
    vmid: Number(paramStr(p, 'vmid')),
    target,
    there: ctx.on(target),
    restart: paramStr(p, 'restart') === '1',
    online: paramStr(p, 'online') === '1',
    withLocalDisks: paramStr(p, 'with-local-disks') === '1',
    wasRunning: false,
    running: false,
    // "test if VM exists" (LXC.pm:1692, Qemu.pm:5586): dies `Configuration file ... does not exist`.
    conf: ctx.host.loadConf(kind, Number(paramStr(p, 'vmid'))),
    copied: new Map(),
    confMigrated: false,
  };
}

/** `pct migrate <vmid> <target> [--restart] [--online]` (pve-container src/PVE/API2/LXC.pm:1670-1752). */
export function pctMigrate(ctx: Ctx, p: Params): void {
  const target = paramStr(p, 'target')!;
  checkTarget(ctx, target);
  const r = newRun(ctx, 'lxc', p);
  if (ctx.host.isRunning(r.vmid) && !r.online && !r.restart)
    throw new PveDie("can't migrate running container without --online or --restart");
  ctx.task(true, () => withMigrationLock(ctx, r.vmid, () => runMigration(r)));
}

/** `qm migrate <vmid> <target> [--online] [--with-local-disks]` (qemu-server src/PVE/API2/Qemu.pm:5555-5670). */
export function qmMigrate(ctx: Ctx, p: Params): void {
  const target = paramStr(p, 'target')!;
  checkTarget(ctx, target);
  const r = newRun(ctx, 'qemu', p);
  const conf = r.conf;
  checkLock(conf.main, 'qemu');
  if (ctx.host.isRunning(r.vmid)) {
    if (!r.online) throw new PveDie("can't migrate running VM without --online");
  } else if (r.online) {
    ctx.io.err("VM isn't running. Doing offline migration instead.\n");
    r.online = false;
  }
  // `check_storage_availability` (qemu-server src/PVE/QemuServer.pm:2235-2258).
  for (const d of qemuDrives(conf.main)) {
    const sid = splitVolid(d.volid)?.sid;
    if (!sid) continue;
    const s = ctx.storage.get(sid);
    if (!storageOnNode(s, target)) throw new PveDie(`storage '${sid}' is not available on node '${target}'`);
  }
  ctx.task(true, () => withMigrationLock(ctx, r.vmid, () => runMigration(r)));
}
