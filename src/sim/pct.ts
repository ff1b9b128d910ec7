// `pct`: the LXC commands an orchestrator uses, with pve-container's checks, messages, locks
// and effects (pve-container src/PVE/API2/LXC.pm, src/PVE/LXC/Config.pm, src/PVE/CLI/pct.pm). Each function gets validated parameters and runs as the API
// method would in CLI mode (tasks synchronous, output teed to stdout).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  type ConfSection,
  cloneSection,
  emptyConf,
  emptySection,
  encodeText,
  formatSize,
  type GuestConf,
  LXC_MP,
  LXC_NET,
  LXC_ROOTFS,
  parseProps,
  parseSize,
  printPropertyString,
  withPendingApplied,
} from '../pve/format/index.js';
import { type Params, paramNum, paramStr } from './args.js';
import { cloneTarget } from './clone-target.js';
import { isSharedStorage } from './cluster.js';
import { createAndLockConfig, removeDestroyed, snapshotCommands, unlockGuest } from './common.js';
import type { Ctx } from './context.js';
import { ParamError, PveDie } from './errors.js';
import { execInGuest, guestFsOf } from './exec.js';
import {
  checkLock,
  commonStatus,
  freeBestEffort,
  isTemplate,
  lxcVolumes,
  mpType,
  normBool,
  randomMac,
  uniqueTags,
} from './guest.js';
import { GuestFs } from './guestfs.js';
import { readText } from './io.js';
import { lookupProp, methodProps } from './schema.js';
import { splitVolid } from './storage.js';

const str = paramStr;
const num = paramNum;

/** Keys of create/set parameters that are not config keys. */
const NON_CONFIG = new Set([
  'vmid',
  'node',
  'ostemplate',
  'storage',
  'password',
  'ssh-public-keys',
  'start',
  'restore',
  'force',
  'unique',
  'pool',
  'ignore-unpack-errors',
  'bwlimit',
  'ha-managed',
  'delete',
  'revert',
  'digest',
]);

const BOOL_KEYS = new Set(['onboot', 'protection', 'template', 'unprivileged', 'console', 'debug']);

/** Keys a running CT takes at once (`vmconfig_hotplug_pending` fast-plug + hotplug); others stay pending. */
function hotpluggable(key: string): boolean {
  return (
    [
      'description',
      'onboot',
      'startup',
      'protection',
      'hostname',
      'hookscript',
      'cores',
      'tags',
      'lock',
      'memory',
      'swap',
      'cpulimit',
      'cpuunits',
    ].includes(key) || /^net\d+$/.test(key)
  );
}

function normalizeNet(value: string): string {
  const net = parseProps(value);
  net.hwaddr ??= randomMac();
  net.type = 'veth';
  for (const b of ['firewall', 'link_down', 'host-managed'])
    if (net[b] !== undefined) net[b] = normBool(net[b]!);
  return printPropertyString(net, LXC_NET);
}

/** New-volume syntax `STORAGE:SIZE_GB` (pve-container LXC.pm `$NEW_DISK_RE`). */
const NEW_DISK_RE = /^([^:\s]+):(\d+(\.\d+)?)$/;

/** Allocates new volumes for rootfs/mpN values of the form `STORAGE:SIZE_GB`; returns the printed value. */
function allocMountpoint(
  ctx: Ctx,
  vmid: number,
  key: string,
  value: string,
  allocated: string[],
  defaultStorage?: string,
): string {
  const props = parseProps(value, 'volume');
  let volume = props.volume ?? '';
  if (key === 'rootfs' && /^\d+(\.\d+)?$/.test(volume) && defaultStorage)
    volume = `${defaultStorage}:${volume}`;
  const m = NEW_DISK_RE.exec(volume);
  if (m) {
    const sid = m[1]!;
    const s = ctx.storage.get(sid);
    const sizeBytes = Math.round(Number(m[2]) * 1024 ** 3);
    const volid = ctx.storage.alloc(sid, vmid, sizeBytes, { ct: true });
    allocated.push(volid);
    if (s.type === 'lvmthin') ctx.out(`  Logical volume "${splitVolid(volid)!.volname}" created.\n`);
    props.volume = volid;
    props.size = formatSize(sizeBytes);
    if (s.type !== 'zfspool') {
      const blocks = sizeBytes / 4096;
      ctx.out(
        `Creating filesystem with ${blocks} 4k blocks and ${Math.max(1, Math.floor(blocks / 4))} inodes\n`,
      );
    }
  } else {
    props.volume = volume;
  }
  for (const b of ['acl', 'ro', 'quota', 'replicate', 'shared', 'backup'])
    if (props[b] !== undefined) props[b] = normBool(props[b]!);
  return printPropertyString(props, key === 'rootfs' ? LXC_ROOTFS : LXC_MP);
}

/** The storage of a new volume must hold container directories (pve-container src/PVE/LXC.pm `$NEW_DISK_RE` callers; `rootdir` content). */
function checkNewVolumeStorage(ctx: Ctx, value: string, defaultStorage?: string): void {
  let volume = parseProps(value, 'volume').volume ?? '';
  if (/^\d+(\.\d+)?$/.test(volume) && defaultStorage) volume = `${defaultStorage}:${volume}`;
  const m = NEW_DISK_RE.exec(volume);
  if (!m) return;
  // `storage_check_enabled($storage_cfg, $sid, $node)` (pve-container src/PVE/API2/LXC.pm:347-353).
  const s = ctx.storage.get(m[1]!);
  if (!(s.props.find(([k]) => k === 'content')?.[1] ?? '').split(',').includes('rootdir')) {
    throw new ParamError({ storage: `storage '${m[1]}' does not support container directories` });
  }
}

function configValue(key: string, value: string): string {
  if (BOOL_KEYS.has(key)) return normBool(value);
  if (/^net\d+$/.test(key)) return normalizeNet(value);
  if (key === 'tags') return uniqueTags(value);
  return value;
}

function detectOstype(template: string): string {
  const m =
    /^(debian|ubuntu|centos|fedora|opensuse|archlinux|alpine|gentoo|devuan|nixos|almalinux|rockylinux)/.exec(
      template.split('/').pop() ?? '',
    );
  if (!m) return 'unmanaged';
  if (m[1] === 'almalinux' || m[1] === 'rockylinux') return 'centos';
  return m[1]!;
}

/** systemd version per template, for the nesting warning of LXC/Setup/Base.pm. [GUESS: versions] */
function systemdVersion(template: string): number | undefined {
  const name = template.split('/').pop() ?? '';
  const m = /^(ubuntu|debian)-(\d+)(?:\.(\d+))?/.exec(name);
  if (!m) return undefined;
  const table: Record<string, number> = {
    'ubuntu-20': 245,
    'ubuntu-22': 249,
    'ubuntu-24': 255,
    'ubuntu-25': 257,
    'debian-11': 247,
    'debian-12': 252,
    'debian-13': 257,
  };
  return table[`${m[1]}-${m[2]}`];
}

function hostnameOf(sec: ConfSection, vmid: number): string {
  return sec.props.hostname ?? `CT${vmid}`;
}

// ---------------------------------------------------------------------------------------------

export function pctCreate(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const ostemplate = str(p, 'ostemplate')!;
  const storageId = str(p, 'storage') ?? 'local';
  ctx.host.checkVmidUnused(vmid);

  // ostemplate: a vztmpl volume or an absolute path (root only; the CLI runs as root).
  let templatePath: string;
  let templateShown: string;
  if (ostemplate.startsWith('/')) {
    templateShown = ostemplate;
    templatePath = ctx.host.hostPath(ostemplate);
  } else {
    const v = splitVolid(ostemplate);
    if (!v) throw new PveDie(`unable to parse volume ID '${ostemplate}'`);
    ctx.storage.get(v.sid);
    const f = ctx.storage.contentFilePath(ostemplate);
    if (f?.vtype !== 'vztmpl')
      throw new PveDie(`unable to use volume ${ostemplate} - content type needs to be 'vztmpl'`);
    templatePath = f.path;
    templateShown = f.shown;
  }

  const rootfs = str(p, 'rootfs') ?? `${storageId}:4`;
  checkNewVolumeStorage(ctx, rootfs, storageId);
  for (const [k, v] of Object.entries(p))
    if (/^mp\d+$/.test(k) && typeof v === 'string') checkNewVolumeStorage(ctx, v);

  const unprivileged = str(p, 'unprivileged') === undefined ? '1' : str(p, 'unprivileged')!;

  // create_and_lock_config: 5 s flock, config with only `lock: create`.
  createAndLockConfig(ctx, 'lxc', vmid);

  const allocated: string[] = [];
  ctx.task(true, () => {
    ctx.host.withConfigLock('lxc', vmid, 10, () => {
      try {
        const sec = emptySection();
        sec.props.rootfs = allocMountpoint(ctx, vmid, 'rootfs', rootfs, allocated, storageId);
        for (const [k, v] of Object.entries(p)) {
          if (typeof v !== 'string' || NON_CONFIG.has(k) || k === 'rootfs' || k === 'unprivileged') continue;
          if (/^unused\d+$/.test(k)) continue;
          if (k === 'description') sec.description = v;
          else if (/^mp\d+$/.test(k)) sec.props[k] = allocMountpoint(ctx, vmid, k, v, allocated);
          else sec.props[k] = configValue(k, v);
        }
        ctx.faultPoint([vmid]);
        if (!existsSync(templatePath))
          throw new PveDie(`failed to open '${templateShown}': No such file or directory`);
        ctx.out(`extracting archive '${templateShown}'\n`);
        ctx.sleep('pctCreate');
        ctx.out(`Total bytes read: 547123200 (522MiB, 180MiB/s)\n`);
        sec.props.arch ??= 'amd64';
        ctx.out(`Detected container architecture: ${sec.props.arch}\n`);
        sec.props.ostype ??= detectOstype(templateShown);
        sec.props.hostname ??= `CT${vmid}`;
        sec.props.memory ??= '512';
        sec.props.swap ??= '512';
        if (unprivileged === '1') sec.props.unprivileged = '1';
        const sd = systemdVersion(templateShown);
        const nesting = /(^|,)nesting=(1|on|yes|true)/.test(sec.props.features ?? '');
        if (sd && sd > 241 && unprivileged === '1' && !nesting) {
          ctx.warn(`Systemd ${sd} detected. You may need to enable nesting.`);
        }
        for (const key of ['rsa', 'ecdsa', 'ed25519']) {
          ctx.out(`Creating SSH host key 'ssh_host_${key}_key' - this may take some time ...\n`);
          ctx.out(`done: SHA256:${randomMac().replace(/:/g, '')}simulated root@${sec.props.hostname}\n`);
        }
        const conf = emptyConf();
        conf.main = sec;
        ctx.host.writeConf('lxc', vmid, conf);
      } catch (e) {
        // Proxmox destroys the disks, removes the config and the firewall file.
        freeBestEffort((v) => ctx.storage.free(v), allocated);
        ctx.host.removeConf('lxc', vmid);
        throw new PveDie(`unable to create CT ${vmid} - ${(e as Error).message}`);
      }
    });
    if (str(p, 'start') === '1') startCt(ctx, vmid, false);
  });
}

// ---------------------------------------------------------------------------------------------

export function pctClone(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const newid = num(p, 'newid');
  const snapname = str(p, 'snapname');
  const storage = str(p, 'storage');
  const target = cloneTarget(ctx, str(p, 'target'), storage, 'container directories');

  // set_lock($vmid, 'disk'): flock 10 s, check_lock, write `lock: disk`.
  let src = ctx.host.withConfigLock('lxc', vmid, 10, () => {
    const conf = ctx.host.loadConf('lxc', vmid);
    checkLock(conf.main, 'lxc');
    conf.main.props.lock = 'disk';
    ctx.host.writeConf('lxc', vmid, conf);
    return conf;
  });
  const removeSourceLock = (): void => {
    ctx.host.withConfigLock('lxc', vmid, 10, () => {
      const conf = ctx.host.loadConf('lxc', vmid);
      if (conf.main.props.lock === 'disk') delete conf.main.props.lock;
      ctx.host.writeConf('lxc', vmid, conf);
    });
  };

  try {
    createAndLockConfig(ctx, 'lxc', newid);
  } catch (e) {
    removeSourceLock();
    throw e;
  }

  const volumes: Array<{ key: string; volid: string; props: Record<string, string>; linked: boolean }> = [];
  let full: boolean;
  let newConf: GuestConf;
  try {
    src = ctx.host.loadConf('lxc', vmid);
    const srcSec = snapname ? src.snapshots[snapname] : src.main;
    if (snapname && !srcSec) throw new PveDie(`snapshot '${snapname}' does not exist`);
    full = str(p, 'full') !== undefined ? str(p, 'full') === '1' : !isTemplate(src.main);
    if (!full && storage) throw new PveDie(`parameter 'storage' not allowed for linked clones`);
    const running = ctx.host.isRunning(vmid);
    const sec = srcSec!;
    for (const key of Object.keys(sec.props).filter((k) => k === 'rootfs' || /^mp\d+$/.test(k))) {
      const props = parseProps(sec.props[key]!, 'volume');
      const type = mpType(props.volume ?? '');
      if (type !== 'volume') throw new PveDie(`unable to clone mountpoint '${key}' (type ${type})`);
    }
    // `$sharedvm` (pve-container src/PVE/API2/LXC.pm:2063-2081, 2124-2125): every volume (or
    // `--storage`) on shared storage, else no `--target`.
    const local = lxcVolumes(sec)
      .filter((v) => !isSharedStorage(ctx.storage.get(storage ?? splitVolid(v.volid)!.sid)))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    if (target) for (const v of local) ctx.io.err(`found non-shared volume: ${v.volid}\n`);
    for (const v of lxcVolumes(sec)) {
      if (full) {
        if (running && !snapname)
          throw new PveDie('Full clone of a running container is only possible from a snapshot');
      } else {
        const s = ctx.storage.get(splitVolid(v.volid)!.sid);
        if (
          !(s.type === 'lvmthin' || s.type === 'zfspool' || s.type === 'rbd') ||
          !/(^|\/)base(vol)?-/.test(splitVolid(v.volid)!.volname)
        ) {
          throw new PveDie(`Linked clone feature for '${v.volid}' is not available`);
        }
      }
      volumes.push({ ...v, linked: !full });
    }
    if (target && local.length > 0)
      throw new PveDie(`can't clone CT to node '${target}' (CT uses local storage)`);
    // The new config: a copy without snapshot/pending/template keys, new MACs, `lock: create`.
    const copy = cloneSection(sec);
    for (const k of Object.keys(copy.props)) {
      if (/^unused\d+$/.test(k) || ['parent', 'snaptime', 'snapstate', 'template', 'lock'].includes(k))
        delete copy.props[k];
      if (/^net\d+$/.test(k)) {
        const net = parseProps(copy.props[k]!);
        net.hwaddr = randomMac();
        copy.props[k] = printPropertyString(net, LXC_NET);
      }
    }
    copy.props.lock = 'create';
    if (str(p, 'hostname')) copy.props.hostname = str(p, 'hostname')!;
    if (str(p, 'description') !== undefined) copy.description = str(p, 'description')!;
    newConf = emptyConf();
    newConf.main = copy;
    ctx.host.writeConf('lxc', newid, newConf);
  } catch (e) {
    ctx.host.removeConf('lxc', newid);
    removeSourceLock();
    throw e;
  }

  const created: string[] = [];
  ctx.task(true, () => {
    try {
      for (const v of volumes) {
        ctx.out(
          v.linked
            ? `create linked clone of mount point ${v.key} (${v.volid})\n`
            : `create full clone of mountpoint ${v.key} (${v.volid})\n`,
        );
        const newVolid = v.linked
          ? ctx.storage.cloneLinked(v.volid, newid, true)
          : ctx.storage.cloneFull(v.volid, newid, true, storage);
        created.push(newVolid);
        ctx.sleep(v.linked ? 'cloneLinkedCt' : 'cloneFullCt');
        const props = { ...v.props, volume: newVolid };
        newConf.main.props[v.key] = printPropertyString(props, v.key === 'rootfs' ? LXC_ROOTFS : LXC_MP);
        ctx.host.writeConf('lxc', newid, newConf);
      }
      ctx.faultPoint([vmid, newid]);
      // post_clone_hook: new SSH host keys.
      for (const key of ['rsa', 'ecdsa', 'ed25519']) {
        ctx.out(`Creating SSH host key 'ssh_host_${key}_key' - this may take some time ...\n`);
        ctx.out(
          `done: SHA256:${randomMac().replace(/:/g, '')}simulated root@${newConf.main.props.hostname ?? `CT${newid}`}\n`,
        );
      }
      delete newConf.main.props.lock;
      ctx.host.writeConf('lxc', newid, newConf);
      if (target) ctx.host.moveConfTo('lxc', newid, target);
      removeSourceLock();
    } catch (e) {
      freeBestEffort((v) => ctx.storage.free(v), created);
      ctx.host.removeConf('lxc', newid);
      removeSourceLock();
      throw new PveDie(`clone failed: ${(e as Error).message}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------

export function pctTemplate(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  ctx.host.withConfigLock('lxc', vmid, 10, () => {
    const conf = ctx.host.loadConf('lxc', vmid);
    checkLock(conf.main, 'lxc');
    if (Object.keys(conf.snapshots).length > 0)
      throw new PveDie('unable to create template, because CT contains snapshots');
    if (isTemplate(conf.main)) throw new PveDie(`you can't convert a template to a template`);
    if (ctx.host.isRunning(vmid)) throw new PveDie(`you can't convert a CT to template if the CT is running`);
    ctx.task(false, () => {
      for (const v of lxcVolumes(conf.main)) {
        const s = ctx.storage.get(splitVolid(v.volid)!.sid);
        if (s.type === 'lvm') throw new PveDie(`Template feature is not available for '${v.volid}'`);
      }
      ctx.faultPoint([vmid]);
      ctx.sleep('template');
      for (const v of lxcVolumes(conf.main)) {
        const base = ctx.storage.createBase(v.volid);
        if (ctx.storage.get(splitVolid(v.volid)!.sid).type === 'lvmthin') {
          ctx.out(
            `  Renamed "${splitVolid(v.volid)!.volname}" to "${splitVolid(base)!.volname}" in volume group "pve"\n`,
          );
          ctx.out(`  Logical volume pve/${splitVolid(base)!.volname} changed.\n`);
        }
        conf.main.props[v.key] = printPropertyString(
          { ...v.props, volume: base },
          v.key === 'rootfs' ? LXC_ROOTFS : LXC_MP,
        );
      }
      conf.main.props.template = '1';
      ctx.host.writeConf('lxc', vmid, conf);
      ctx.host.updateRuntime(vmid, (r) => ({ ...r, templateAt: Date.now() }));
    });
  });
}

// ---------------------------------------------------------------------------------------------

const REQUIRED = ['memory', 'rootfs', 'ostype'];

export function pctSet(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const changes = Object.entries(p).filter(
    ([k]) => !['vmid', 'node', 'digest', 'delete', 'revert'].includes(k),
  );
  const deletes = (str(p, 'delete') ?? '').split(/[,; ]/).filter(Boolean);
  const reverts = (str(p, 'revert') ?? '').split(/[,; ]/).filter(Boolean);
  if (changes.length === 0 && deletes.length === 0 && reverts.length === 0)
    throw new PveDie('no options specified');
  const known = methodProps('PUT /nodes/{node}/lxc/{vmid}/config');
  for (const d of [...deletes, ...reverts]) {
    if (!lookupProp(known, d) || NON_CONFIG.has(d))
      throw new ParamError({ [deletes.includes(d) ? 'delete' : 'revert']: `unknown option '${d}'` });
    if (changes.some(([k]) => k === d))
      throw new PveDie(`you can't use '-${d}' and -delete ${d}' at the same time`);
  }
  ctx.sleep('set');
  ctx.host.withConfigLock('lxc', vmid, 10, () => {
    const conf = ctx.host.loadConf('lxc', vmid);
    if (str(p, 'digest') && str(p, 'digest') !== digestOf(ctx, vmid)) {
      throw new PveDie('detected modified configuration - file changed by other user? Try again.');
    }
    checkLock(conf.main, 'lxc');
    ctx.faultPoint([vmid]);
    const running = ctx.host.isRunning(vmid);
    conf.pending ??= emptySection();
    const pending = conf.pending;
    const protection = conf.main.props.protection === '1';
    for (const opt of deletes) {
      if (opt === 'unprivileged') throw new PveDie(`unable to delete read-only option: 'unprivileged'`);
      if (REQUIRED.includes(opt)) throw new PveDie(`unable to delete required option '${opt}'`);
      if (protection && (/^mp\d+$/.test(opt) || /^unused\d+$/.test(opt))) {
        throw new PveDie(`can't remove CT ${vmid} drive '${opt}' - protection mode enabled`);
      }
      if (conf.main.props[opt] === undefined && opt !== 'description' && pending.props[opt] === undefined) {
        ctx.io.err(`cannot delete '${opt}' - not set in current configuration!\n`);
        continue;
      }
      if (running && !hotpluggable(opt)) {
        const list = (pending.props.delete ?? '').split(',').filter(Boolean);
        if (!list.includes(opt)) list.push(opt);
        pending.props.delete = list.join(',');
        delete pending.props[opt];
      } else {
        if (opt === 'description') delete conf.main.description;
        else if (/^mp\d+$/.test(opt)) moveToUnused(conf.main, conf.main.props[opt]!);
        delete conf.main.props[opt];
        delete pending.props[opt];
      }
    }
    for (const opt of reverts) delete pending.props[opt];
    const allocated: string[] = [];
    for (const [opt, raw] of changes) {
      if (typeof raw !== 'string') continue;
      if (opt === 'unprivileged') throw new PveDie(`unable to modify read-only option: 'unprivileged'`);
      let value = raw;
      if (opt === 'rootfs' || /^mp\d+$/.test(opt)) {
        if (protection) throw new PveDie(`can't update CT ${vmid} drive '${opt}' - protection mode enabled`);
        const vol = parseProps(raw, 'volume').volume ?? '';
        const m = NEW_DISK_RE.exec(vol);
        if (m) {
          ctx.storage.requireContent(m[1]!, 'rootdir');
          value = allocMountpoint(ctx, vmid, opt, raw, allocated);
          if (conf.main.props[opt]) moveToUnused(conf.main, conf.main.props[opt]!);
        } else {
          const props = parseProps(raw, 'volume');
          value = printPropertyString(props, opt === 'rootfs' ? LXC_ROOTFS : LXC_MP);
        }
      } else {
        value = configValue(opt, raw);
      }
      const isNewMp = /^(mp|dev)\d+$/.test(opt) && conf.main.props[opt] === undefined;
      if (running && !hotpluggable(opt) && !isNewMp) {
        if (opt === 'description') pending.description = value;
        else pending.props[opt] = value;
      } else {
        if (opt === 'description') conf.main.description = value;
        else conf.main.props[opt] = value;
        delete pending.props[opt];
        const del = (pending.props.delete ?? '').split(',').filter((d) => d && d !== opt);
        if (del.length) pending.props.delete = del.join(',');
        else delete pending.props.delete;
      }
    }
    if (Object.keys(pending.props).length === 0 && pending.description === undefined) delete conf.pending;
    ctx.host.writeConf('lxc', vmid, conf);
  });
}

function moveToUnused(sec: ConfSection, value: string): void {
  const volume = parseProps(value, 'volume').volume ?? '';
  if (mpType(volume) !== 'volume') return;
  let i = 0;
  while (sec.props[`unused${i}`] !== undefined) i++;
  sec.props[`unused${i}`] = volume;
}

export function digestOf(ctx: Ctx, vmid: number, kind: 'lxc' | 'qemu' = 'lxc'): string {
  return createHash('sha1')
    .update(readText(ctx.host.confPath(kind, vmid)) ?? '')
    .digest('hex');
}

// ---------------------------------------------------------------------------------------------

export function pctResize(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const disk = str(p, 'disk')!;
  const sizeArg = str(p, 'size')!;
  ctx.host.withConfigLock('lxc', vmid, 10, () => {
    const conf = ctx.host.loadConf('lxc', vmid);
    checkLock(conf.main, 'lxc');
    const value = conf.main.props[disk];
    if (!value) throw new PveDie(`unable to parse mount point '${disk}'`);
    const props = parseProps(value, 'volume');
    const volid = props.volume ?? '';
    const owner = /(?:vm|subvol|base|basevol)-(\d+)-disk/.exec(
      splitVolid(volid)?.volname.split('/').pop() ?? '',
    );
    if (owner && Number(owner[1]) !== vmid) {
      throw new PveDie(
        `can't resize mount point owned by another container (${owner[1]}) at /usr/share/perl5/PVE/API2/LXC.pm line 2386.`,
      );
    }
    const cur = ctx.storage.volume(volid)?.size ?? parseSize(props.size ?? '');
    if (cur === undefined) throw new PveDie(`Could not determine current size of volume '${volid}'`);
    const m = /^(\+)?(\d+(\.\d+)?)([KMGT])?$/.exec(sizeArg)!;
    const unit = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[4] ?? ''] ?? 1;
    let newSize = Math.trunc(Number(m[2]) * unit);
    if (m[1]) newSize += cur;
    if (newSize < cur) throw new PveDie('unable to shrink disk size');
    if (newSize === cur) throw new PveDie('disk is already at specified size');
    ctx.task(false, () => {
      ctx.faultPoint([vmid]);
      ctx.sleep('resize');
      ctx.storage.resize(volid, newSize);
      props.size = formatSize(newSize);
      conf.main.props[disk] = printPropertyString(props, disk === 'rootfs' ? LXC_ROOTFS : LXC_MP);
      ctx.host.writeConf('lxc', vmid, conf);
      ctx.out(
        `resize2fs 1.47.2 (1-Jan-2025)\nResizing the filesystem on /dev/loop0 to ${Math.trunc(newSize / 4096)} (4k) blocks.\n`,
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------

/** Host ranges of /etc/subuid or /etc/subgid delegated to root. */
function subRanges(ctx: Ctx, file: 'subuid' | 'subgid'): Array<[number, number]> {
  const text = readText(ctx.host.hostPath(`/etc/${file}`)) ?? '';
  return text
    .split('\n')
    .map((l) => /^root:(\d+):(\d+)\s*$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
}

function covered(ranges: Array<[number, number]>, start: number, count: number): boolean {
  let pos = start;
  const end = start + count;
  for (;;) {
    const r = ranges.find(([s, c]) => s <= pos && pos < s + c);
    if (!r) return false;
    pos = r[0] + r[1];
    if (pos >= end) return true;
  }
}

/** The id maps LXC will apply (custom lxc.idmap lines replace the default 0→100000 x65536). */
function idmapCheck(ctx: Ctx, vmid: number, sec: ConfSection): string | undefined {
  const lines = sec.lxc.filter(([k]) => k === 'lxc.idmap').map(([, v]) => v);
  const unpriv = sec.props.unprivileged === '1' || lines.length > 0;
  if (!unpriv) return undefined;
  const maps = lines.length > 0 ? lines : ['u 0 100000 65536', 'g 0 100000 65536'];
  for (const kind of ['u', 'g'] as const) {
    const entries = maps
      .map((l) => /^([ug])\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m && m[1] === kind)
      .map((m) => [Number(m[2]), Number(m[3]), Number(m[4])] as const);
    const ranges = subRanges(ctx, kind === 'u' ? 'subuid' : 'subgid');
    for (const [ct, host, count] of entries) {
      if (!covered(ranges, host, count)) {
        const tool = kind === 'u' ? 'newuidmap' : 'newgidmap';
        const what = kind === 'u' ? 'uid' : 'gid';
        const args = entries.map(([c, h, n]) => `${c} ${h} ${n}`).join(' ');
        return `lxc_map_ids: 245 ${tool} failed to write mapping "${tool}: ${what} range [${host}-${host + count}) -> [${host}-${host + count}) not allowed": ${tool} ${process.pid} ${args}`;
      }
      void ct;
    }
  }
  void vmid;
  return undefined;
}

/**
 * The prestart hook makes a node for every devN under a fresh tmpfs (pve-container
 * src/lxc-pve-prestart-hook:155-181, `foreach_passthrough_device` in index order); `mknod` of a path
 * made already by an earlier devN dies (src/PVE/LXC.pm:1897-1903) and the start fails.
 */
function passthroughCheck(vmid: number, sec: ConfSection): string | undefined {
  const seen = new Set<string>();
  const keys = Object.keys(sec.props)
    .filter((k) => /^dev\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  for (const key of keys) {
    const path = parseProps(sec.props[key]!, 'path').path ?? '';
    if (seen.has(path)) return `failed to mknod /var/lib/lxc/${vmid}/passthrough${path}: File exists`;
    seen.add(path);
  }
  return undefined;
}

function startCt(ctx: Ctx, vmid: number, skiplock: boolean): void {
  ctx.host.withConfigLock('lxc', vmid, 10, () => {
    const conf = ctx.host.loadConf('lxc', vmid);
    if (isTemplate(conf.main)) throw new PveDie(`you can't start a CT if it's a template`);
    if (!skiplock) checkLock(conf.main, 'lxc', ['mounted']);
    if (conf.pending) {
      conf.main = withPendingApplied(conf);
      delete conf.pending;
      ctx.host.writeConf('lxc', vmid, conf);
    }
    ctx.faultPoint([vmid], 'start');
    ctx.sleep('startCt');
    const bad = idmapCheck(ctx, vmid, conf.main) ?? passthroughCheck(vmid, conf.main);
    if (bad) {
      ctx.out(`${bad}\n`);
      throw new PveDie(`startup for container '${vmid}' failed`);
    }
    ctx.host.setStatus(vmid, 'running', {
      startedAt: Date.now(),
      pid: 10000 + (vmid % 50000),
      hostname: hostnameOf(conf.main, vmid),
    });
  });
}

export function pctStart(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  if (ctx.host.confExists('lxc', vmid) && ctx.host.isRunning(vmid))
    throw new PveDie(`CT ${vmid} already running`);
  ctx.task(true, () => startCt(ctx, vmid, str(p, 'skiplock') === '1'));
}

export function pctStop(ctx: Ctx, p: Params, shutdown: boolean): void {
  const vmid = num(p, 'vmid');
  ctx.host.loadConf('lxc', vmid);
  if (!ctx.host.isRunning(vmid)) throw new PveDie(`CT ${vmid} not running`);
  ctx.task(true, () => {
    ctx.host.withConfigLock('lxc', vmid, 10, () => {
      const conf = ctx.host.loadConf('lxc', vmid);
      if (str(p, 'skiplock') !== '1') checkLock(conf.main, 'lxc', ['mounted']);
      ctx.faultPoint([vmid]);
      ctx.sleep(shutdown ? 'shutdownCt' : 'stop');
      ctx.host.setStatus(vmid, 'stopped');
    });
  });
}

// ---------------------------------------------------------------------------------------------

export function pctStatus(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const conf = ctx.host.loadConf('lxc', vmid);
  ctx.sleep('read');
  if (str(p, 'verbose') === '1') {
    const st = lxcStatus(ctx, vmid, conf.main);
    for (const k of Object.keys(st).sort()) {
      if (k === 'cpu') continue;
      ctx.out(`${k}: ${st[k]}\n`);
    }
  } else {
    ctx.out(`status: ${ctx.host.runtime(vmid).status}\n`);
  }
}

/** `PVE::LXC::vmstatus` fields for one CT (live). */
export function lxcStatus(ctx: Ctx, vmid: number, sec: ConfSection): Record<string, string | number> {
  const rt = ctx.host.runtime(vmid);
  const running = rt.status === 'running';
  const rootfs = sec.props.rootfs ? parseProps(sec.props.rootfs, 'volume') : {};
  const maxdisk = parseSize(rootfs.size ?? '') ?? 4 * 1024 ** 3;
  const memory = Number(sec.props.memory ?? 512);
  const st: Record<string, string | number> = {
    vmid,
    type: 'lxc',
    status: rt.status,
    name: (sec.props.hostname ?? `CT${vmid}`).replace(/\s/g, ''),
    cpus: Number(sec.props.cores ?? 1),
    maxmem: memory * 1024 * 1024,
    maxswap: Number(sec.props.swap ?? 512) * 1024 * 1024,
    maxdisk,
    disk: running ? Math.trunc(maxdisk / 8) : 0,
    mem: running ? Math.trunc((memory * 1024 * 1024) / 10) : 0,
    swap: 0,
    ...commonStatus(rt, sec),
  };
  return st;
}

export function pctConfig(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const snap = str(p, 'snapshot');
  if (snap && str(p, 'current') === '1') {
    throw new ParamError({ snapshot: "option conflicts with 'current'" });
  }
  const conf = ctx.host.loadConf('lxc', vmid);
  ctx.sleep('read');
  let sec: ConfSection;
  if (snap) {
    const s = conf.snapshots[snap];
    if (!s) throw new PveDie(`snapshot '${snap}' does not exist`);
    sec = s;
  } else sec = str(p, 'current') === '1' ? conf.main : withPendingApplied(conf);
  printConfig(ctx, sec, true);
}

/** `pct config`/`qm config` output: sorted `key: value`, description escaped, raw lxc keys last. */
export function printConfig(ctx: Ctx, sec: ConfSection, lxc: boolean): void {
  const entries: Array<[string, string]> = Object.entries(sec.props);
  if (sec.description !== undefined) entries.push(['description', encodeText(sec.description)]);
  for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) ctx.out(`${k}: ${v}\n`);
  if (lxc) for (const [k, v] of sec.lxc) ctx.out(`${k}: ${v}\n`);
}

export function pctList(ctx: Ctx): void {
  ctx.sleep('read');
  const cts = ctx.host.listGuests().filter((g) => g.kind === 'lxc' && g.node === ctx.host.node);
  if (cts.length === 0) return;
  const row = (a: string, b: string, c: string, d: string): string =>
    `${a.padEnd(10)} ${b.padEnd(10)} ${c.padEnd(12)} ${d.padEnd(20)}\n`;
  ctx.out(row('VMID', 'Status', 'Lock', 'Name'));
  for (const g of cts) {
    const conf = ctx.host.loadConf('lxc', g.vmid);
    ctx.out(
      row(
        String(g.vmid),
        ctx.host.runtime(g.vmid).status,
        conf.main.props.lock ?? '',
        hostnameOf(conf.main, g.vmid).replace(/\s/g, ''),
      ),
    );
  }
}

// ---------------------------------------------------------------------------------------------

const ctSnapshots = snapshotCommands('lxc', (ctx, id) => startCt(ctx, id, false));
export const pctSnapshot = ctSnapshots.snapshot;
export const pctDelsnapshot = ctSnapshots.delsnapshot;
export const pctRollback = ctSnapshots.rollback;
export const pctListsnapshot = ctSnapshots.listsnapshot;

// ---------------------------------------------------------------------------------------------

export function pctExec(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  ctx.host.loadConf('lxc', vmid);
  if (!ctx.host.isRunning(vmid)) throw new PveDie(`container '${vmid}' not running!`);
  const args = (p['extra-args'] as string[] | undefined) ?? [];
  if (args.length === 0) throw new PveDie('missing command at /usr/share/perl5/PVE/CLI/pct.pm line 246.');
  ctx.sleep('exec');
  // lxc-attach hands pct's own stdin to the command (pct.pm:238-255): reading it waits for EOF.
  const res = execInGuest(ctx, vmid, args, 'pct exec', () =>
    (ctx.io.stdin?.() ?? Buffer.alloc(0)).toString('utf8'),
  );
  ctx.out(res.stdout);
  ctx.io.err(res.stderr);
  ctx.exit = res.exit;
}

/**
 * `pct push` (pve-container src/PVE/CLI/pct.pm:700-800): under the config lock, a running CT, a
 * `push_file` worker that opens the local file, enters the CT, chdirs to `/` and creates the
 * destination without making its parent (`create_file`, :510-560).
 */
export function pctPush(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const file = str(p, 'file')!;
  const dest = str(p, 'destination')!;
  ctx.host.withConfigLock('lxc', vmid, 10, () => {
    if (!ctx.host.isRunning(vmid)) throw new PveDie('can only push files to a running CT');
    ctx.host.loadConf('lxc', vmid);
    ctx.task(false, () => {
      // The file is read on the machine running pct (the host); in the simulator that is this machine.
      let data: Buffer;
      try {
        data = readFileSync(file);
      } catch {
        throw new PveDie(`failed to open ${file} for reading`);
      }
      ctx.faultPoint([vmid]);
      ctx.sleep('push');
      const abs = GuestFs.normalize(dest.startsWith('/') ? dest : `/${dest}`)!;
      const r = new GuestFs(ctx.host, vmid).write(abs, data);
      if (r !== 'ok')
        throw new PveDie(
          `failed to create file: ${dest}: ${r === 'isdir' ? 'Is a directory' : 'No such file or directory'}`,
        );
      const perms = str(p, 'perms');
      const metaPath = ctx.host.simPath('guests', String(vmid), 'files.json');
      const meta = JSON.parse(readText(metaPath) ?? '{}') as Record<string, unknown>;
      meta[abs] = {
        perms: perms === undefined ? '0644' : perms.startsWith('0') ? perms : `0${perms}`,
        user: str(p, 'user') ?? 'root',
        group: str(p, 'group') ?? 'root',
        time: new Date().toISOString(),
      };
      writeFileSync(metaPath, `${JSON.stringify(meta, null, 1)}\n`);
    });
  });
}

/**
 * `pct pull <vmid> <path> <destination>` (pve-container src/PVE/CLI/pct.pm:607-690): under the
 * config lock, a running CT (`die` without newline, so Perl adds where), then a `pull_file`
 * worker that creates the local destination first and then opens the CT path relative to `/`.
 * Like push it has no `$upid_exit` (cmddef :1190), so a failed copy still exits 0.
 */
export function pctPull(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const path = str(p, 'path')!;
  const dest = str(p, 'destination')!;
  ctx.host.withConfigLock('lxc', vmid, 10, () => {
    if (!ctx.host.isRunning(vmid))
      throw new PveDie('can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 664.');
    ctx.task(false, () => {
      // create_file on this machine (the host): O_CREAT, no parent directories.
      try {
        writeFileSync(dest, '');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new PveDie(
          `failed to create file: ${dest}: ${code === 'EISDIR' ? 'Is a directory' : 'No such file or directory'}`,
        );
      }
      ctx.faultPoint([vmid]);
      ctx.sleep('push');
      const fs = guestFsOf(ctx, vmid);
      const abs = GuestFs.normalize(path.startsWith('/') ? path : `/${path}`)!;
      const kind = fs.kind(abs);
      if (kind !== 'file')
        throw new PveDie(
          `failed to open ${path}: ${kind === 'dir' ? 'Is a directory' : 'No such file or directory'}`,
        );
      writeFileSync(dest, fs.read(abs)!);
      const perms = str(p, 'perms');
      if (perms !== undefined) chmodSync(dest, Number.parseInt(perms, 8));
    });
  });
}

// ---------------------------------------------------------------------------------------------

/**
 * `PVE::Storage::vdisk_list($cfg, undef, $vmid, undef, $ctype)`: the volumes owned by `vmid` on every
 * enabled storage of this node holding `ctype`, per storage sorted by volid (case-insensitive).
 */
export function vdiskList(ctx: Ctx, vmid: number, ctype: 'rootdir' | 'images'): string[] {
  const out: string[] = [];
  for (const s of ctx.host.storages()) {
    const prop = (k: string): string | undefined => s.props.find(([key]) => key === k)?.[1];
    const disable = prop('disable');
    if (disable !== undefined && disable !== '0') continue; // storage_check_enabled
    const nodes = prop('nodes');
    if (nodes && !nodes.split(/[,;\s]+/).includes(ctx.host.node)) continue;
    if (!(prop('content') ?? '').split(',').includes(ctype)) continue;
    const names = Object.entries(ctx.storage.registry(s.id).volumes)
      .filter(([, v]) => v.vmid === vmid)
      .map(([n]) => `${s.id}:${n}`)
      .sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0));
    out.push(...names);
  }
  return out;
}

/** `vdisk_free` as the destroy paths print it (lvremove's line on LVM-thin). */
function freeVolume(ctx: Ctx, volid: string): void {
  ctx.storage.free(volid);
  const v = splitVolid(volid);
  if (v && ctx.host.storage(v.sid)?.type === 'lvmthin')
    ctx.out(`  Logical volume "${v.volname}" successfully removed.\n`);
}

/**
 * `pct destroy` (pve-container API2/LXC.pm destroy_vm, LXC.pm destroy_lxc_container). The lock
 * check runs before the worker forks, so a CT left with `lock: create`/`lock: disk` fails with
 * `CT is locked (create)` and no task until `pct unlock`. `--destroy-unreferenced-disks` (no
 * default, i.e. off) also frees every volume of the vmid on the enabled `rootdir` storages that
 * the config does not name, e.g. the rootfs a killed `pct create` allocated while the config held
 * only `lock: create`; failures there are only printed (`warn`).
 */
export function pctDestroy(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const force = str(p, 'force') === '1';
  const pre = (conf: GuestConf): void => {
    if (conf.main.props.protection === '1')
      throw new PveDie(`can't remove CT ${vmid} - protection mode enabled`);
    checkLock(conf.main, 'lxc');
  };
  pre(ctx.host.loadConf('lxc', vmid));
  if (ctx.host.isRunning(vmid) && !force)
    throw new PveDie(`unable to destroy CT ${vmid} - container is running`);
  ctx.task(true, () => {
    ctx.host.withConfigLock('lxc', vmid, 10, () => {
      const conf = ctx.host.loadConf('lxc', vmid);
      pre(conf);
      if (ctx.host.isRunning(vmid)) {
        if (!force) throw new PveDie(`unable to destroy CT ${vmid} - container is running`);
        ctx.out(`forced to stop CT ${vmid} before destroying!\n`);
        ctx.host.setStatus(vmid, 'stopped');
      }
      ctx.faultPoint([vmid]);
      ctx.sleep('destroy');
      const vols = new Set<string>();
      const collect = (sec: ConfSection): void => {
        for (const v of lxcVolumes(sec)) vols.add(v.volid);
        for (const [k, v] of Object.entries(sec.props)) if (/^unused\d+$/.test(k)) vols.add(v);
      };
      collect(conf.main);
      if (conf.pending) collect(conf.pending);
      for (const volid of vols) {
        const owner = /(?:vm|subvol|base|basevol)-(\d+)-disk/.exec(
          splitVolid(volid)?.volname.split('/').pop() ?? '',
        );
        if (owner && Number(owner[1]) !== vmid) {
          ctx.out(`ignore deletion of '${volid}', CT ${vmid} isn't the owner!\n`);
          continue;
        }
        freeVolume(ctx, volid);
      }
      if (str(p, 'destroy-unreferenced-disks') === '1') {
        for (const volid of vdiskList(ctx, vmid, 'rootdir')) {
          try {
            freeVolume(ctx, volid);
          } catch (e) {
            ctx.out(`${(e as Error).message}\n`); // `warn $@`: task output, not a counted warning
          }
        }
      }
      removeDestroyed(ctx, 'lxc', vmid, str(p, 'purge') === '1');
    });
  });
}

export function pctUnlock(ctx: Ctx, p: Params): void {
  unlockGuest(ctx, 'lxc', num(p, 'vmid'));
}
