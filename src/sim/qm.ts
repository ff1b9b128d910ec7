// `qm`: the QEMU commands an orchestrator uses, with qemu-server's checks, messages, locks and
// effects (qemu-server src/PVE/API2/Qemu.pm, src/PVE/QemuServer.pm, src/PVE/CLI/qm.pm). The guest agent becomes ready some time after `qm start`
// (latency model `agentBoot`, or PHOENIX_SIM_AGENT_DELAY real seconds).
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import {
  type ConfSection,
  cloneSection,
  emptyConf,
  emptySection,
  formatSize,
  type GuestConf,
  parseProps,
  parseQemuNet,
  parseSize,
  printPropertyString,
  printQemuNet,
  QEMU_DRIVE,
  withPendingApplied,
} from '../pve/format/index.js';
import { looksLikeCryptHash, sha256Crypt } from '../pve/format/sha-crypt.js';
import { type Params, paramNum, paramStr } from './args.js';
import { cloneTarget } from './clone-target.js';
import { isSharedStorage } from './cluster.js';
import { createAndLockConfig, removeDestroyed, snapshotCommands, unlockGuest } from './common.js';
import type { Ctx } from './context.js';
import { ParamError, PveDie } from './errors.js';
import { execInGuest } from './exec.js';
import {
  checkLock,
  commonStatus,
  DRIVE_RE,
  freeBestEffort,
  isCloudinit,
  isTemplate,
  normBool,
  nowS,
  qemuDrives,
  randomMac,
  uniqueTags,
} from './guest.js';
import { sleepMs } from './io.js';
import { LATENCY_S } from './latency.js';
import { printConfig, vdiskList } from './pct.js';
import { lookupProp, methodProps } from './schema.js';
import { hasFeature, isPathStorage, splitVolid } from './storage.js';

const str = paramStr;
const num = paramNum;

const DRIVE_KEY = DRIVE_RE;
const NON_CONFIG = new Set([
  'vmid',
  'node',
  'start',
  'archive',
  'storage',
  'force',
  'unique',
  'pool',
  'bwlimit',
  'live-restore',
  'import-working-storage',
  'ha-managed',
  'delete',
  'revert',
  'digest',
  'skiplock',
  'background_delay',
]);
const BOOL_KEYS = new Set([
  'onboot',
  'protection',
  'template',
  'acpi',
  'kvm',
  'tablet',
  'localtime',
  'numa',
  'reboot',
  'ciupgrade',
  'autostart',
  'freeze',
]);
/** `$confdesc_cloudinit` keys (qemu-server src/PVE/QemuServer.pm:781-876). */
const CLOUDINIT_KEY =
  /^(citype|ciuser|cipassword|ciupgrade|cicustom|searchdomain|nameserver|sshkeys|ipconfig\d+)$/;
/**
 * Options a running VM takes at once; others wait in [PENDING]: `$fast_plug_option` plus every
 * cloud-init key (qemu-server src/PVE/QemuServer.pm:4594-4611), and `hotplug` (4766, with its
 * default features).
 */
function fastPlug(opt: string): boolean {
  return (
    CLOUDINIT_KEY.test(opt) ||
    [
      'description',
      'hookscript',
      'lock',
      'migrate_downtime',
      'migrate_speed',
      'name',
      'onboot',
      'protection',
      'shares',
      'startup',
      'tags',
      'vmstatestorage',
      'hotplug',
    ].includes(opt)
  );
}

/**
 * `$cloudinit_record_changed` (qemu-server src/PVE/QemuServer.pm:4635-4699): a change hot-plugged
 * into a running VM's cloud-init keys, `name` or netN (`cloudinit_pending_properties`, :1792-1798)
 * keeps the value the cloud-init drive still holds in `[special:cloudinit]` (or marks the key
 * `added`), so that `qm start` knows to regenerate the drive (Cloudinit.pm:691-735).
 */
function recordCloudinitChange(conf: GuestConf, opt: string, old?: string, next?: string): void {
  if (!(CLOUDINIT_KEY.test(opt) || opt === 'name' || /^net\d+$/.test(opt))) return;
  conf.special.cloudinit ??= emptySection();
  const ci = conf.special.cloudinit.props;
  const recorded = ci[opt];
  const added = new Set((ci.added ?? '').split(',').filter(Boolean));
  delete ci.added;
  if (next !== undefined) {
    if (recorded !== undefined) {
      if (next === recorded) {
        delete ci[opt];
        added.delete(opt);
      }
    } else if (!added.has(opt)) {
      if (old !== undefined) ci[opt] = old;
      else added.add(opt);
    }
  } else if (old !== undefined && recorded === undefined) {
    if (added.has(opt)) added.delete(opt);
    else ci[opt] = old;
  }
  if (added.size) ci.added = [...added].sort().join(',');
  if (Object.keys(ci).length === 0) delete conf.special.cloudinit;
}

/** `[special:cloudinit]` is written only while the VM has a cloud-init drive (QemuServer.pm:2183-2187). */
function hasCloudinitDrive(sec: ConfSection): boolean {
  return qemuDrives(sec).some((d) => isCloudinit(d.volid));
}

/** Perl JSON `pretty => 1, canonical => 1`: 3-space indent, `"key" : value`. */
export function perlPrettyJson(value: unknown, indent = ''): string {
  const next = `${indent}   `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${next}${perlPrettyJson(v, next)}`).join(',\n')}\n${indent}]`;
  }
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return '{}';
    return `{\n${keys.map((k) => `${next}${JSON.stringify(k)} : ${perlPrettyJson((value as Record<string, unknown>)[k], next)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

function uriEscape(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/**
 * cipassword is stored as SHA-256-crypt unless it already looks hashed (qemu-server
 * API2/Qemu.pm, `$opt eq 'cipassword'`), with an 8-character salt from a base64 digest, `+` made
 * `X` (pve-common PVE::Tools::encrypt_pw). Not modelled: Windows guests (`ostype: win*`) keep
 * it in clear.
 */
function hashPassword(pw: string): string {
  if (looksLikeCryptHash(pw)) return pw;
  const salt = randomBytes(6).toString('base64').replace(/\+/g, 'X');
  return sha256Crypt(pw, `$5$${salt}$`)!;
}

function readHostFile(ctx: Ctx, path: string): string | undefined {
  for (const p of [path, ctx.host.hostPath(path)]) {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      // try next
    }
  }
  return undefined;
}

/** Virtual size of an image to import; placeholder files stand for a 3.5 GiB cloud image. */
function imageSize(path: string): number {
  const size = statSync(path).size;
  return size < 1024 * 1024 ? 3584 * 1024 * 1024 : size;
}

function resolveImportSource(
  ctx: Ctx,
  source: string,
  allowVolid = true,
): { path: string; shown: string } | undefined {
  if (!allowVolid && !source.startsWith('/')) {
    // `qm disk import` takes a file path (`-f $source`), relative to the cwd.
    return existsSync(source) && statSync(source).isFile() ? { path: source, shown: source } : undefined;
  }
  if (source.startsWith('/')) {
    const path = ctx.host.hostPath(source);
    return existsSync(path) && statSync(path).isFile() ? { path, shown: source } : undefined;
  }
  const f = ctx.storage.contentFilePath(source);
  if (f && existsSync(f.path)) return { path: f.path, shown: f.shown };
  return undefined;
}

/**
 * `$check_storage_access` for `import-from` sources, before any lock or task (qemu-server
 * src/PVE/API2/Qemu.pm:202-212, called from create_vm :1351 and update_vm :2200): the volume
 * name must parse (`checked_parse_volname`, src/PVE/QemuServer/Drive.pm:49-63, so
 * `local:import/x.img` dies `unable to parse directory volume name 'import/x.img'`, pve-storage
 * src/PVE/Storage/Plugin.pm:836) and be of type images or import.
 */
function checkImportSources(ctx: Ctx, p: Params): void {
  for (const [key, value] of Object.entries(p)) {
    if (typeof value !== 'string' || !DRIVE_KEY.test(key)) continue;
    const src = parseProps(value, 'file')['import-from'];
    const v = src && !src.startsWith('/') ? splitVolid(src) : undefined;
    if (!v) continue;
    ctx.storage.get(v.sid);
    const vtype = ctx.storage.contentFilePath(src!)?.vtype ?? 'images';
    if (vtype !== 'images' && vtype !== 'import')
      throw new ParamError({ [key]: `${src} has wrong type '${vtype}' - needs to be 'images' or 'import'` });
  }
}

/**
 * Turns a drive parameter into its config value, allocating what it asks for: `STORAGE:SIZE`,
 * `STORAGE:0,import-from=...`, `STORAGE:cloudinit`; an existing volume is kept as given.
 */
function allocDrive(
  ctx: Ctx,
  vmid: number,
  key: string,
  value: string,
  conf: GuestConf,
  allocated: string[],
): string {
  const props = parseProps(value, 'file');
  const file = props.file ?? '';
  const ci = /^([^:\s]+):cloudinit$/.exec(file);
  if (ci) {
    for (const [k, v] of Object.entries(conf.main.props)) {
      if (k !== key && DRIVE_KEY.test(k) && isCloudinit(v))
        throw new PveDie(`${key} - cloud-init drive is already attached at '${k}'`);
    }
    ctx.storage.requireContent(ci[1]!, 'images');
    const volid = ctx.storage.allocCloudinit(ci[1]!, vmid);
    allocated.push(volid);
    const out = printPropertyString({ file: volid, media: 'cdrom' }, QEMU_DRIVE);
    ctx.out(`${key}: successfully created disk '${out}'\n`);
    return out;
  }
  const m = /^([^:\s]+):(\d+(\.\d+)?)$/.exec(file);
  if (!m) {
    // An existing volume gets its size filled in from the storage.
    const known = ctx.storage.volume(file);
    if (known && props.size === undefined && props.media !== 'cdrom') props.size = formatSize(known.size);
    return printPropertyString(props, QEMU_DRIVE);
  }
  const sid = m[1]!;
  const s = ctx.storage.get(sid);
  if (!(s.props.find(([k]) => k === 'content')?.[1] ?? '').split(',').includes('images')) {
    throw new PveDie(`storage '${sid}' does not support vm images`);
  }
  let size = Math.round(Number(m[2]) * 1024 ** 3);
  const importFrom = props['import-from'];
  delete props['import-from'];
  if (importFrom) {
    const src = resolveImportSource(ctx, importFrom);
    if (!src) throw new PveDie(`'import-from' - '${importFrom}' does not exist`);
    size = imageSize(src.path);
    ctx.out(`importing disk '${importFrom}' to VM ${vmid} ...\n`);
    ctx.sleep('diskImport');
    ctx.out(`transferred ${formatGib(size)} of ${formatGib(size)} (100.00%)\n`);
  }
  const fmt = props.format === 'raw' || props.format === 'qcow2' ? props.format : undefined;
  const volid = ctx.storage.alloc(sid, vmid, size, fmt ? { ct: false, format: fmt } : { ct: false });
  allocated.push(volid);
  delete props.format;
  props.file = volid;
  props.size = formatSize(size);
  const out = printPropertyString(props, QEMU_DRIVE);
  ctx.out(`${key}: successfully created disk '${out}'\n`);
  return out;
}

function formatGib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function normalizeNet(value: string): string {
  const net = parseQemuNet(value);
  if (!net) return value;
  net.macaddr ??= randomMac();
  if (net.rest.firewall !== undefined) net.rest.firewall = normBool(net.rest.firewall);
  return printQemuNet(net);
}

function configValue(ctx: Ctx, key: string, value: string): string {
  if (BOOL_KEYS.has(key)) return normBool(value);
  if (/^net\d+$/.test(key)) return normalizeNet(value);
  if (key === 'cipassword') return hashPassword(value);
  if (key === 'tags') return uniqueTags(value);
  if (key === 'sshkeys') return uriEscape(readHostFile(ctx, value) ?? value);
  return value;
}

function defaultBoot(sec: ConfSection): string {
  const order: string[] = [];
  const drives = Object.keys(sec.props).filter((k) => DRIVE_KEY.test(k));
  const prio = ['ide', 'sata', 'scsi', 'virtio'];
  const disks = drives
    .filter((k) => !/media=cdrom/.test(sec.props[k]!))
    .sort(
      (a, b) =>
        prio.indexOf(a.replace(/\d+$/, '')) - prio.indexOf(b.replace(/\d+$/, '')) || a.localeCompare(b),
    );
  if (disks[0]) order.push(disks[0]);
  for (const k of drives.filter((k) => /media=cdrom/.test(sec.props[k]!)).sort()) order.push(k);
  const net = Object.keys(sec.props)
    .filter((k) => /^net\d+$/.test(k))
    .sort()[0];
  if (net) order.push(net);
  return `order=${order.join(';')}`;
}

// ---------------------------------------------------------------------------------------------

export function qmCreate(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  checkImportSources(ctx, p);
  try {
    createAndLockConfig(ctx, 'qemu', vmid);
  } catch (e) {
    throw new PveDie(`unable to create VM ${vmid} - ${(e as Error).message}`);
  }
  const allocated: string[] = [];
  ctx.task(true, () => {
    ctx.host.withConfigLock('qemu', vmid, 1, () => {
      try {
        const conf = emptyConf();
        const sec = conf.main;
        for (const [k, v] of Object.entries(p)) {
          if (typeof v !== 'string' || NON_CONFIG.has(k) || DRIVE_KEY.test(k)) continue;
          if (k === 'description') sec.description = v;
          else sec.props[k] = configValue(ctx, k, v);
        }
        for (const [k, v] of Object.entries(p)) {
          if (typeof v === 'string' && DRIVE_KEY.test(k))
            sec.props[k] = allocDrive(ctx, vmid, k, v, conf, allocated);
        }
        ctx.faultPoint([vmid]);
        ctx.sleep('qmCreate');
        sec.props.boot ??= defaultBoot(sec);
        sec.props.meta = `creation-qemu=9.2.0,ctime=${nowS()}`;
        sec.props.smbios1 ??= `uuid=${randomUUID()}`;
        sec.props.vmgenid ??= randomUUID();
        ctx.host.writeConf('qemu', vmid, conf);
      } catch (e) {
        freeBestEffort((v) => ctx.storage.free(v), allocated);
        ctx.host.removeConf('qemu', vmid);
        throw new PveDie(`unable to create VM ${vmid} - ${(e as Error).message}`);
      }
    });
    if (str(p, 'start') === '1') {
      ctx.out('Execute autostart\n');
      startVm(ctx, vmid, false);
    }
  });
}

// ---------------------------------------------------------------------------------------------

export function qmDiskImport(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const source = str(p, 'source')!;
  const sid = str(p, 'storage')!;
  const target = str(p, 'target-disk');
  ctx.host.withConfigLock('qemu', vmid, 10, () => {
    const conf = ctx.host.loadConf('qemu', vmid);
    checkLock(conf.main, 'qemu');
    const src = resolveImportSource(ctx, source, false);
    if (!src) throw new PveDie(`${source}: non-existent or non-regular file`);
    const s = ctx.storage.get(sid);
    if (!(s.props.find(([k]) => k === 'content')?.[1] ?? '').split(',').includes('images')) {
      throw new PveDie(`storage ${sid} does not support vm images`);
    }
    ctx.out(`importing disk '${source}' to VM ${vmid} ...\n`);
    ctx.faultPoint([vmid], 'import');
    const size = imageSize(src.path);
    const fmt = str(p, 'format') as 'raw' | 'qcow2' | undefined;
    let volid = ctx.storage.importImage(sid, vmid, size, fmt ?? (isPathStorage(s) ? 'qcow2' : 'raw'));
    for (const pct of [0, 25, 50, 75, 100]) {
      ctx.sleep('diskImport', 0.25 * (pct > 0 ? 1 : 0));
      ctx.out(`transferred ${formatGib((size * pct) / 100)} of ${formatGib(size)} (${pct.toFixed(2)}%)\n`);
    }
    if (isTemplate(conf.main)) volid = ctx.storage.createBase(volid);
    let key = target;
    if (!key) {
      let i = 0;
      while (conf.main.props[`unused${i}`] !== undefined) i++;
      key = `unused${i}`;
      conf.main.props[key] = volid;
    } else {
      conf.main.props[key] = printPropertyString({ file: volid, size: formatSize(size) }, QEMU_DRIVE);
    }
    ctx.out(`${key}: successfully imported disk '${conf.main.props[key]}'\n`);
    ctx.host.writeConf('qemu', vmid, conf);
  });
}

// ---------------------------------------------------------------------------------------------

export function qmSet(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const changes = Object.entries(p).filter(
    ([k]) =>
      !['vmid', 'node', 'digest', 'delete', 'revert', 'skiplock', 'force', 'background_delay'].includes(k),
  );
  const deletes = (str(p, 'delete') ?? '').split(/[,; ]/).filter(Boolean);
  const reverts = (str(p, 'revert') ?? '').split(/[,; ]/).filter(Boolean);
  if (changes.length === 0 && deletes.length === 0 && reverts.length === 0)
    throw new PveDie('no options specified');
  const known = methodProps('PUT /nodes/{node}/qemu/{vmid}/config');
  for (const d of [...deletes, ...reverts]) {
    if (!lookupProp(known, d) || NON_CONFIG.has(d)) {
      throw new ParamError({ [deletes.includes(d) ? 'delete' : 'revert']: `unknown option '${d}'` });
    }
  }
  checkImportSources(ctx, p);
  ctx.sleep('set');
  ctx.host.withConfigLock('qemu', vmid, 10, () => {
    const conf = ctx.host.loadConf('qemu', vmid);
    if (str(p, 'skiplock') !== '1') checkLock(conf.main, 'qemu');
    const shown = Object.keys(p)
      .filter(
        (k) =>
          ![
            'vmid',
            'node',
            'digest',
            'background_delay',
            'skip_cloud_init',
            'import-working-storage',
          ].includes(k),
      )
      .sort()
      .map((k) => `-${k} ${k === 'cipassword' ? '<hidden>' : p[k]}`);
    ctx.out(`update VM ${vmid}: ${shown.join(' ')}\n`);
    ctx.faultPoint([vmid]);
    const running = ctx.host.isRunning(vmid);
    conf.pending ??= emptySection();
    const pending = conf.pending;
    for (const opt of deletes) {
      if (conf.main.props.protection === '1' && DRIVE_KEY.test(opt)) {
        throw new PveDie(`can't remove drive '${opt}' - protection mode enabled`);
      }
      if (running && !fastPlug(opt)) {
        const list = (pending.props.delete ?? '').split(',').filter(Boolean);
        if (!list.includes(opt)) list.push(opt);
        pending.props.delete = list.join(',');
      } else {
        if (running) recordCloudinitChange(conf, opt, conf.main.props[opt], undefined);
        if (opt === 'description') delete conf.main.description;
        else if (DRIVE_KEY.test(opt) && conf.main.props[opt] && !isCloudinit(conf.main.props[opt]!)) {
          let i = 0;
          while (conf.main.props[`unused${i}`] !== undefined) i++;
          const file = parseProps(conf.main.props[opt]!, 'file').file;
          if (file && !/media=cdrom/.test(conf.main.props[opt]!)) conf.main.props[`unused${i}`] = file;
        } else if (DRIVE_KEY.test(opt) && conf.main.props[opt]) {
          const file = parseProps(conf.main.props[opt]!, 'file').file;
          if (file) ctx.storage.free(file);
        } else if (/^unused\d+$/.test(opt) && conf.main.props[opt]) ctx.storage.free(conf.main.props[opt]!);
        delete conf.main.props[opt];
      }
    }
    for (const opt of reverts) delete pending.props[opt];
    const allocated: string[] = [];
    for (const [opt, raw] of changes) {
      if (typeof raw !== 'string') continue;
      let value: string;
      if (DRIVE_KEY.test(opt)) {
        value = allocDrive(ctx, vmid, opt, raw, conf, allocated);
        const old = conf.main.props[opt];
        if (old && !isCloudinit(old) && !/media=cdrom/.test(old)) {
          const oldFile = parseProps(old, 'file').file;
          const newFile = parseProps(value, 'file').file;
          if (oldFile && oldFile !== newFile) {
            let i = 0;
            while (conf.main.props[`unused${i}`] !== undefined) i++;
            conf.main.props[`unused${i}`] = oldFile;
          }
        }
        // Attaching an unused disk removes its unusedN entry.
        const file = parseProps(value, 'file').file;
        for (const [k, v] of Object.entries(conf.main.props))
          if (/^unused\d+$/.test(k) && v === file) delete conf.main.props[k];
      } else {
        value = configValue(ctx, opt, raw);
      }
      if (opt === 'boot') {
        const order = /order=([^,]+)/.exec(value)?.[1];
        for (const dev of (order ?? '').split(';').filter(Boolean)) {
          if (conf.main.props[dev] === undefined && !changes.some(([k]) => k === dev)) {
            throw new PveDie(`invalid bootorder: device '${dev}' does not exist'`);
          }
        }
      }
      // update_vm_api writes cipassword (hashed) straight into the main config, never [PENDING]
      // (qemu-server src/PVE/API2/Qemu.pm, the `$opt eq 'cipassword'` branch).
      const hot = fastPlug(opt) || /^net\d+$/.test(opt) || DRIVE_KEY.test(opt);
      if (running && !hot) {
        if (opt === 'description') pending.description = value;
        else pending.props[opt] = value;
      } else {
        // cipassword bypasses [PENDING] (API2/Qemu.pm:2530-2536), so nothing records it.
        if (running && opt !== 'cipassword') recordCloudinitChange(conf, opt, conf.main.props[opt], value);
        if (opt === 'description') conf.main.description = value;
        else conf.main.props[opt] = value;
        delete pending.props[opt];
      }
    }
    if (Object.keys(pending.props).length === 0 && pending.description === undefined) delete conf.pending;
    if (!hasCloudinitDrive(withPendingApplied(conf))) delete conf.special.cloudinit;
    ctx.host.writeConf('qemu', vmid, conf);
  });
}

// ---------------------------------------------------------------------------------------------

export function qmTemplate(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  ctx.host.withConfigLock('qemu', vmid, 10, () => {
    const conf = ctx.host.loadConf('qemu', vmid);
    checkLock(conf.main, 'qemu');
    if (Object.keys(conf.snapshots).length > 0)
      throw new PveDie('unable to create template, because VM contains snapshots');
    if (isTemplate(conf.main) && !str(p, 'disk'))
      throw new PveDie(`you can't convert a template to a template`);
    if (ctx.host.isRunning(vmid)) throw new PveDie(`you can't convert a VM to template if VM is running`);
    conf.main.props.template = '1';
    ctx.host.writeConf('qemu', vmid, conf);
    ctx.host.updateRuntime(vmid, (r) => ({ ...r, templateAt: Date.now() }));
    ctx.task(false, () => {
      ctx.faultPoint([vmid]);
      ctx.sleep('template');
      for (const d of qemuDrives(conf.main)) {
        if (d.props.media === 'cdrom') continue;
        if (str(p, 'disk') && d.key !== str(p, 'disk')) continue;
        const v = splitVolid(d.volid)!;
        const s = ctx.host.storage(v.sid);
        if (!s || !hasFeature(s, 'template', v.volname) || /(^|\/)base-/.test(v.volname)) continue;
        const base = ctx.storage.createBase(d.volid);
        conf.main.props[d.key] = printPropertyString({ ...d.props, file: base }, QEMU_DRIVE);
      }
      ctx.host.writeConf('qemu', vmid, conf);
    });
  });
}

// ---------------------------------------------------------------------------------------------

export function qmClone(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const newid = num(p, 'newid');
  const snapname = str(p, 'snapname');
  const storage = str(p, 'storage');
  const format = str(p, 'format');
  const running = ctx.host.isRunning(vmid);
  const target = cloneTarget(ctx, str(p, 'target'), storage, 'vm images');
  // Source: shared flock (exclusive when running), 1 s; target: exclusive, 1 s; both for the whole clone.
  ctx.host.withConfigLock(
    'qemu',
    vmid,
    1,
    () => {
      ctx.host.withConfigLock('qemu', newid, 1, () => {
        const src = ctx.host.loadConf('qemu', vmid);
        checkLock(src.main, 'qemu');
        if (ctx.host.confExists('qemu', newid))
          throw new PveDie(`unable to create VM ${newid}: config file already exists`);
        // [GUESS] pmxcfs refuses a second config for an id used by a CT / on another node (EEXIST).
        if (ctx.host.findGuest(newid))
          throw new PveDie(`unable to create VM ${newid}: config file already exists`);
        const sec = snapname ? src.snapshots[snapname] : src.main;
        if (snapname && !sec) throw new PveDie(`snapshot '${snapname}' does not exist`);
        const full = str(p, 'full') !== undefined ? str(p, 'full') === '1' : !isTemplate(src.main);
        if (!full && storage) throw new PveDie(`parameter 'storage' not allowed for linked clones`);
        if (!full && format) throw new PveDie(`parameter 'format' not allowed for linked clones`);
        const drives = qemuDrives(sec!);
        for (const d of drives) {
          if (d.props.media === 'cdrom' && !isCloudinit(d.volid)) continue;
          if (isCloudinit(d.volid)) continue;
          const v = splitVolid(d.volid)!;
          const s = ctx.storage.get(v.sid);
          const feature = full ? 'copy' : 'clone';
          const ok = full ? s.type !== 'lvm' || true : hasFeature(s, 'clone', v.volname);
          if (!ok) {
            throw new PveDie(
              `${full ? 'Full' : 'Linked'} clone feature is not supported for${snapname ? ' a snapshot of' : ''} '${d.volid}' (${d.key})`,
            );
          }
          void feature;
        }
        if (!full && running)
          throw new PveDie(
            `Linked clone feature is not supported for '${drives[0]?.volid}' (${drives[0]?.key})`,
          );
        // `$check_storage_access_clone`: any drive (CD-ROM images too) on a non-shared storage
        // makes the VM local (qemu-server src/PVE/API2/Qemu.pm:282-322, 4488-4499).
        if (target && drives.some((d) => !isSharedStorage(ctx.storage.get(splitVolid(d.volid)!.sid))))
          throw new PveDie(`can't clone VM to node '${target}' (VM uses local storage)`);
        ctx.host.writeConfRaw('qemu', newid, '# qmclone temporary file\nlock: clone\n');

        const created: string[] = [];
        ctx.task(true, () => {
          try {
            const next = cloneSection(sec!);
            for (const k of Object.keys(next.props)) {
              if (
                [
                  'parent',
                  'snaptime',
                  'snapstate',
                  'vmstate',
                  'template',
                  'lock',
                  'runningmachine',
                  'runningcpu',
                ].includes(k)
              )
                delete next.props[k];
              if (/^unused\d+$/.test(k)) delete next.props[k];
            }
            if (src.pending && !snapname && Object.keys(src.pending.props).length) {
              ctx.out(
                `found pending changes for '${Object.keys(src.pending.props).join(',')}', discarding for clone\n`,
              );
            }
            for (const k of Object.keys(next.props)) {
              if (/^net\d+$/.test(k)) {
                const net = parseQemuNet(next.props[k]!);
                if (net) {
                  net.macaddr = randomMac();
                  next.props[k] = printQemuNet(net);
                }
              }
            }
            next.props.name = str(p, 'name') ?? `Copy-of-VM-${sec!.props.name ?? vmid}`;
            const smbios = parseProps(next.props.smbios1 ?? '');
            smbios.uuid = randomUUID();
            next.props.smbios1 = printPropertyString(smbios);
            if (next.props.vmgenid) next.props.vmgenid = randomUUID();
            if (str(p, 'description') !== undefined) next.description = str(p, 'description')!;
            next.props.lock = 'clone';
            const conf = emptyConf();
            conf.main = next;
            ctx.out(`creating a clone of VM ${vmid} with ID ${newid}\n`);
            for (const d of drives) {
              if (d.props.media === 'cdrom' && !isCloudinit(d.volid)) continue;
              const linked = !full && !isCloudinit(d.volid);
              ctx.out(`create ${linked ? 'linked' : 'full'} clone of drive ${d.key} (${d.volid})\n`);
              let newVolid: string;
              if (isCloudinit(d.volid)) {
                newVolid = ctx.storage.allocCloudinit(storage ?? splitVolid(d.volid)!.sid, newid);
              } else if (linked) newVolid = ctx.storage.cloneLinked(d.volid, newid, false);
              else newVolid = ctx.storage.cloneFull(d.volid, newid, false, storage);
              created.push(newVolid);
              ctx.sleep(linked ? 'cloneLinkedVm' : isCloudinit(d.volid) ? 'alloc' : 'cloneFullVm');
              next.props[d.key] = printPropertyString({ ...d.props, file: newVolid }, QEMU_DRIVE);
              ctx.host.writeConf('qemu', newid, conf);
            }
            ctx.faultPoint([vmid, newid]);
            delete next.props.lock;
            ctx.host.writeConf('qemu', newid, conf);
            // The config is renamed into the target's folder (Qemu.pm:4693-4707).
            if (target) ctx.host.moveConfTo('qemu', newid, target);
          } catch (e) {
            freeBestEffort((v) => ctx.storage.free(v), created);
            ctx.host.removeConf('qemu', newid);
            throw new PveDie(`clone failed: ${(e as Error).message}`);
          }
        });
      });
    },
    !running,
  );
}

// ---------------------------------------------------------------------------------------------

export function qmResize(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const disk = str(p, 'disk')!;
  const sizeArg = str(p, 'size')!;
  ctx.task(false, () => {
    ctx.host.withConfigLock('qemu', vmid, 10, () => {
      const conf = ctx.host.loadConf('qemu', vmid);
      if (str(p, 'skiplock') !== '1') checkLock(conf.main, 'qemu');
      const value = conf.main.props[disk];
      if (!value) throw new PveDie(`disk '${disk}' does not exist`);
      const props = parseProps(value, 'file');
      if (props.media === 'cdrom') throw new PveDie(`you can't resize a cdrom`);
      const cur = ctx.storage.volume(props.file ?? '')?.size ?? parseSize(props.size ?? '') ?? 0;
      const m = /^(\+)?(\d+(\.\d+)?)([KMGT])?$/.exec(sizeArg)!;
      const unit = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[4] ?? ''] ?? 1;
      let newSize = Math.trunc(Number(m[2]) * unit);
      if (m[1]) newSize += cur;
      if (newSize < cur) throw new PveDie('shrinking disks is not supported');
      if (newSize === cur) return;
      ctx.faultPoint([vmid]);
      ctx.sleep('resize');
      ctx.storage.resize(props.file ?? '', newSize);
      props.size = formatSize(newSize);
      conf.main.props[disk] = printPropertyString(props, QEMU_DRIVE);
      ctx.host.writeConf('qemu', vmid, conf);
    });
  });
}

// ---------------------------------------------------------------------------------------------

function agentEnabled(sec: ConfSection): boolean {
  const a = sec.props.agent;
  if (a === undefined) return false;
  const props = parseProps(a, 'enabled');
  return /^(1|on|yes|true)$/i.test(props.enabled ?? '0');
}

function startVm(ctx: Ctx, vmid: number, skiplock: boolean): void {
  ctx.host.withConfigLock('qemu', vmid, 10, () => {
    const conf = ctx.host.loadConf('qemu', vmid);
    if (isTemplate(conf.main)) throw new PveDie(`you can't start a vm if it's a template`);
    if (!skiplock) checkLock(conf.main, 'qemu', ['suspended']);
    if (ctx.host.isRunning(vmid)) throw new PveDie(`VM ${vmid} already running`);
    if (conf.pending) {
      conf.main = withPendingApplied(conf);
      delete conf.pending;
      ctx.host.writeConf('qemu', vmid, conf);
    }
    // apply_cloudinit_config: the drive is regenerated and the record dropped (qemu-server
    // src/PVE/QemuServer.pm:5603-5611, src/PVE/QemuServer/Cloudinit.pm:727-738).
    if (conf.special.cloudinit) {
      delete conf.special.cloudinit;
      ctx.host.writeConf('qemu', vmid, conf);
    }
    ctx.faultPoint([vmid], 'start');
    ctx.sleep('startVm');
    const delayMs =
      ctx.env.agentDelayS !== undefined
        ? ctx.env.agentDelayS * 1000
        : LATENCY_S.agentBoot * 1000 * ctx.env.speed;
    const extra: { startedAt: number; pid: number; agentReadyAt?: number } = {
      startedAt: Date.now(),
      pid: 20000 + (vmid % 40000),
    };
    if (agentEnabled(conf.main)) extra.agentReadyAt = Date.now() + delayMs;
    ctx.host.setStatus(vmid, 'running', extra);
  });
}

export function qmStart(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  ctx.host.loadConf('qemu', vmid);
  ctx.task(true, () => startVm(ctx, vmid, str(p, 'skiplock') === '1'));
}

export function qmStop(ctx: Ctx, p: Params, shutdown: boolean): void {
  const vmid = num(p, 'vmid');
  ctx.host.loadConf('qemu', vmid);
  ctx.task(true, () => {
    ctx.host.withConfigLock('qemu', vmid, 10, () => {
      const conf = ctx.host.loadConf('qemu', vmid);
      if (str(p, 'skiplock') !== '1') checkLock(conf.main, 'qemu');
      if (!ctx.host.isRunning(vmid)) return;
      ctx.faultPoint([vmid]);
      ctx.sleep(shutdown ? 'shutdownVm' : 'stop');
      ctx.host.setStatus(vmid, 'stopped');
    });
  });
}

export function vmStatus(ctx: Ctx, vmid: number, sec: ConfSection): Record<string, string | number> {
  const rt = ctx.host.runtime(vmid);
  const running = rt.status === 'running';
  const memory = Number(sec.props.memory ?? 512);
  const boot = qemuDrives(sec).find((d) => d.props.media !== 'cdrom');
  const maxdisk = boot ? (parseSize(boot.props.size ?? '') ?? 0) : 0;
  const st: Record<string, string | number> = {
    vmid,
    status: rt.status,
    name: sec.props.name ?? `VM ${vmid}`,
    cpus: Number(sec.props.cores ?? 1) * Number(sec.props.sockets ?? 1),
    maxmem: memory * 1024 * 1024,
    maxdisk,
    disk: 0,
    mem: running ? Math.trunc((memory * 1024 * 1024) / 4) : 0,
    ...commonStatus(rt, sec),
  };
  return st;
}

export function qmStatus(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const conf = ctx.host.loadConf('qemu', vmid);
  ctx.sleep('read');
  if (str(p, 'verbose') === '1') {
    const st = vmStatus(ctx, vmid, conf.main);
    for (const k of Object.keys(st).sort()) ctx.out(`${k}: ${st[k]}\n`);
  } else ctx.out(`status: ${ctx.host.runtime(vmid).status}\n`);
}

export function qmConfig(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const conf = ctx.host.loadConf('qemu', vmid);
  ctx.sleep('read');
  const snap = str(p, 'snapshot');
  let sec: ConfSection;
  if (snap) {
    const s = conf.snapshots[snap];
    if (!s) throw new PveDie(`snapshot '${snap}' does not exist`);
    sec = s;
  } else sec = str(p, 'current') === '1' ? conf.main : withPendingApplied(conf);
  printConfig(ctx, sec, false);
}

export function qmList(ctx: Ctx): void {
  ctx.sleep('read');
  const vms = ctx.host.listGuests().filter((g) => g.kind === 'qemu' && g.node === ctx.host.node);
  if (vms.length === 0) return;
  ctx.out('      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       \n');
  for (const g of vms) {
    const sec = ctx.host.loadConf('qemu', g.vmid).main;
    const st = vmStatus(ctx, g.vmid, sec);
    const mem = Number(sec.props.memory ?? 512);
    const disk = (Number(st.maxdisk) / 1024 ** 3).toFixed(2);
    ctx.out(
      `${String(g.vmid).padStart(10)} ${String(st.name).padEnd(20)} ${String(st.status).padEnd(10)} ${String(mem).padEnd(10)} ${disk.padStart(12)} ${String(st.pid ?? 0).padEnd(10)}\n`,
    );
  }
}

// ---------------------------------------------------------------------------------------------

function agentPre(ctx: Ctx, vmid: number): void {
  const conf = ctx.host.loadConf('qemu', vmid);
  if (conf.main.props.agent === undefined) throw new PveDie('No QEMU guest agent configured');
  if (!ctx.host.isRunning(vmid)) throw new PveDie(`VM ${vmid} is not running`);
  const rt = ctx.host.runtime(vmid);
  if (rt.agentReadyAt === undefined || Date.now() < rt.agentReadyAt) {
    sleepMs(LATENCY_S.agentPingTimeout * 1000 * ctx.env.speed);
    throw new PveDie('QEMU guest agent is not running');
  }
}

export function qmGuestCmd(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const command = str(p, 'command')!;
  agentPre(ctx, vmid);
  ctx.faultPoint([vmid], 'guest-ping');
  ctx.sleep('read');
  const sec = ctx.host.loadConf('qemu', vmid).main;
  const results: Record<string, unknown> = {
    ping: {},
    'get-host-name': { 'host-name': sec.props.name ?? `VM${vmid}` },
    'get-time': Date.now() * 1_000_000,
    'get-osinfo': {
      id: 'ubuntu',
      name: 'Ubuntu',
      'version-id': '24.04',
      'kernel-release': '6.8.0-generic',
      machine: 'x86_64',
    },
    info: { version: '8.2.2', supported_commands: [] },
    'network-get-interfaces': [
      { name: 'lo', 'ip-addresses': [{ 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', prefix: 8 }] },
    ],
  };
  const res = results[command] ?? {};
  if (res && typeof res === 'object' && !Array.isArray(res) && Object.keys(res).length === 0) return;
  ctx.out(`${perlPrettyJson(res)}\n`);
}

/** qemu-server PVE/CLI/qm.pm `exec`, then PVE::QemuServer::Agent::qemu_exec, in their order of checks. */
export function qmGuestExec(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  if (str(p, 'timeout') !== undefined && str(p, 'synchronous') === '0')
    throw new ParamError({ synchronous: "needs to be set for 'timeout'" });
  let input: string | undefined;
  if (str(p, 'pass-stdin') === '1') {
    const data = ctx.io.stdin?.() ?? Buffer.alloc(0);
    // Perl counts the bytes read so far (no decoding layer on STDIN).
    if (data.length > 1024 * 1024) throw new PveDie("'input-data' (STDIN) is limited to 1 MiB, aborting");
    input = data.toString('utf8');
  }
  const args = (p['extra-args'] as string[] | undefined) ?? [];
  ctx.host.loadConf('qemu', vmid);
  if (!args.length && input === undefined) throw new PveDie('command or input-data (or both) required');
  agentPre(ctx, vmid);
  ctx.sleep('exec');
  const r = execInGuest(ctx, vmid, args, 'qm guest exec', () => input);
  const out: Record<string, unknown> = { exitcode: r.exit, exited: 1 };
  if (r.stdout) out['out-data'] = r.stdout;
  if (r.stderr) out['err-data'] = r.stderr;
  ctx.out(`${perlPrettyJson(out)}\n`);
}

// ---------------------------------------------------------------------------------------------

/**
 * `qm destroy` (qemu-server API2/Qemu.pm destroy_vm, QemuServer.pm destroy_vm). Unlike pct, the
 * lock check runs inside the worker: a VM left with `lock: clone`/`lock: create` fails the
 * `qmdestroy` task with `VM is locked (clone)` (exit 255) unless `--skiplock 1` or `qm unlock` first.
 * `--destroy-unreferenced-disks` (default 0 since PVE 7) also frees every volume of the vmid on the
 * enabled `images` storages that the config does not name; failures there are warnings.
 */
export function qmDestroy(ctx: Ctx, p: Params): void {
  const vmid = num(p, 'vmid');
  const early = (): void => {
    const conf = ctx.host.loadConf('qemu', vmid);
    if (conf.main.props.protection === '1')
      throw new PveDie(`can't remove VM ${vmid} - protection mode enabled`);
    if (ctx.host.isRunning(vmid)) throw new PveDie(`VM ${vmid} is running - destroy failed`);
  };
  early();
  ctx.task(true, () => {
    ctx.host.withConfigLock('qemu', vmid, 10, () => {
      early();
      const conf = ctx.host.loadConf('qemu', vmid);
      if (str(p, 'skiplock') !== '1' && conf.main.props.lock !== 'suspended') checkLock(conf.main, 'qemu');
      // foreach_volume_full with include_unused (and vmstate): drives, unusedN, vmstate.
      const volumes = (sec: ConfSection): Array<{ volid: string; cdrom: boolean; cloudinit: boolean }> => {
        const out = qemuDrives(sec).map((d) => ({
          volid: d.volid,
          cdrom: d.props.media === 'cdrom',
          cloudinit: isCloudinit(d.volid),
        }));
        for (const [k, v] of Object.entries(sec.props))
          if (/^unused\d+$/.test(k) || k === 'vmstate')
            out.push({ volid: v, cdrom: false, cloudinit: false });
        return out;
      };
      if (isTemplate(conf.main)) {
        for (const v of volumes(conf.main)) {
          if (v.cdrom) continue; // drive_is_cdrom without exclude_cloudinit: cloud-init counts as cdrom
          if (ctx.storage.linkedUsers(v.volid).length > 0)
            throw new PveDie(`base volume '${v.volid}' is still in use by linked cloned`);
        }
      }
      ctx.faultPoint([vmid]);
      ctx.sleep('destroy');
      const seen = new Set<string>();
      const removeOwned = (v: { volid: string; cdrom: boolean; cloudinit: boolean }): void => {
        if ((v.cdrom && !v.cloudinit) || !v.volid || v.volid.startsWith('/') || seen.has(v.volid)) return;
        const owner = /^(?:vm|base|subvol|basevol)-(\d+)-/.exec(
          splitVolid(v.volid)?.volname.split('/').pop() ?? '',
        );
        if (!owner || Number(owner[1]) !== vmid) return; // only disks this VM owns
        seen.add(v.volid);
        try {
          ctx.storage.free(v.volid);
        } catch (e) {
          ctx.warn(`Could not remove disk '${v.volid}', check manually: ${(e as Error).message}`);
        }
      };
      for (const v of volumes(conf.main)) removeOwned(v);
      for (const snap of Object.values(conf.snapshots))
        if (snap.props.vmstate) removeOwned({ volid: snap.props.vmstate, cdrom: false, cloudinit: false });
      if (conf.pending) for (const v of volumes(conf.pending)) removeOwned(v);
      if (str(p, 'destroy-unreferenced-disks') === '1') {
        for (const volid of vdiskList(ctx, vmid, 'images')) {
          try {
            ctx.storage.free(volid);
          } catch (e) {
            ctx.warn((e as Error).message);
          }
        }
      }
      removeDestroyed(ctx, 'qemu', vmid, str(p, 'purge') === '1');
    });
  });
}

export function qmUnlock(ctx: Ctx, p: Params): void {
  unlockGuest(ctx, 'qemu', num(p, 'vmid'));
}

const vmSnapshots = snapshotCommands('qemu', (ctx, id) => startVm(ctx, id, false));
export const qmSnapshot = vmSnapshots.snapshot;
export const qmDelsnapshot = vmSnapshots.delsnapshot;
export const qmRollback = vmSnapshots.rollback;
export const qmListsnapshot = vmSnapshots.listsnapshot;
