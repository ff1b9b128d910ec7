// One legacy `vms[i]` entry (phoenix_vm_configs.json, or the hypervisor config before 829c047)
// → the `vm({...})` authoring object. `vm_defaults` fills what the entry leaves out, as the
// legacy vm-manager did.

import type { SnapshotDecl } from '../../src/dsl/model.js';
import {
  collectMeta,
  mapBoot,
  mapDependencies,
  mapDescription,
  mapFeatureList,
  mapFirewall,
  mapHealthCheck,
  withPrefix,
} from './common.js';
import { addFieldComment, type GuestExtra, type ImportedGuest } from './ir.js';
import {
  isValidDnsName,
  isValidSnapshotName,
  MAC_RE,
  sanitizeDnsName,
  sanitizeSnapshotName,
} from './lxc-parts.js';

import { isObject, type Reader, toInt } from './reader.js';
import type { StorageCatalog } from './storages.js';

export interface VmDefaults {
  cores?: number;
  memoryMb?: number;
  storage?: string;
  bridge?: string;
  file: string;
  path: string;
}

export interface VmContext {
  storages: StorageCatalog;
  defaults: VmDefaults | undefined;
  /** Hypervisor `domain_name`: the legacy searchdomain fallback for VMs. */
  domain?: { value: string; file: string };
}

const S = 'vms[*]';

export function mapVm(r: Reader, vmid: number, ctx: VmContext): GuestExtra {
  const report = r.report;
  const guest: ImportedGuest = {
    vmid,
    kind: 'vm',
    fields: {},
    comments: [],
    fieldComments: new Map(),
    file: r.file,
    path: r.path,
  };
  const f = guest.fields;
  const extra: GuestExtra = { guest, deps: [], isTemplate: false, macs: [], ips: [] };
  const mapped = (key: string, to: string, note?: string) =>
    report.mapped(r.file, r.at(key), `${S}.${key}`, to, note);
  const dropped = (key: string, reason: string) => report.dropped(r.file, r.at(key), `${S}.${key}`, reason);
  const d = ctx.defaults;
  r.consume('vmid');

  const name = r.str('name');
  if (name === undefined) report.error(r.file, r.path, "VM has no 'name': cannot declare it");
  else {
    extra.name = name;
    mapped('name', 'name');
    if (isValidDnsName(name)) f.name = name;
    else {
      f.name = sanitizeDnsName(name);
      report.warn(
        r.file,
        r.at('name'),
        `VM name '${name}' is rejected by Proxmox (dns-name); imported as '${f.name}'`,
      );
      addFieldComment(guest, 'name', `legacy name '${name}' is not a valid DNS name; renamed`);
    }
  }
  const isTemplate = r.bool('is_template') ?? false;
  extra.isTemplate = isTemplate;
  if (isTemplate) f.template = true;
  if (r.has('is_template')) mapped('is_template', 'template');

  if (r.has('clone_from_vmid')) {
    const v = r.raw('clone_from_vmid');
    const n = v === undefined ? undefined : toInt(report, r.file, r.at('clone_from_vmid'), v);
    if (n !== undefined) {
      extra.cloneFrom = { vmid: n, path: r.at('clone_from_vmid') };
      f.cloneFrom = n;
      mapped('clone_from_vmid', 'cloneFrom', 'string or number');
    }
  }
  const image = r.str('template_image');
  if (image !== undefined) {
    if (extra.cloneFrom)
      dropped('template_image', 'the VM is cloned (clone_from_vmid wins in the legacy tool)');
    else {
      const volid = imageVolid(image, ctx.storages, r);
      const named = importableImage(volid);
      f.image = named.volid;
      mapped('template_image', 'image', 'cloud image → local:import/<file>');
      addFieldComment(
        guest,
        'image',
        `the legacy tool downloaded this cloud image itself: put it on that storage (import content)${named.renamed ? '.' : ''}`,
      );
      if (named.renamed) {
        for (const line of named.comment) addFieldComment(guest, 'image', line);
        report.warn(
          r.file,
          r.at('template_image'),
          `'${image}' renamed to '${named.volid}': Proxmox imports only .qcow2/.raw/.vmdk files from import/ (pve-storage Storage.pm:122); rename the file on the host (an Ubuntu/Debian .img cloud image is qcow2)`,
        );
      }
    }
  } else if (!extra.cloneFrom) {
    report.error(
      r.file,
      r.path,
      "VM has neither 'template_image' nor 'clone_from_vmid': nothing to create it from",
    );
  }

  // --- resources, falling back to vm_defaults like apply_core_configurations did
  const cores = r.int('cores');
  const memory = r.int('memory_mb');
  if (cores !== undefined) mapped('cores', 'cores');
  if (memory !== undefined) mapped('memory_mb', 'memoryMb');
  // A clone without its own values inherits them from its source (DSL default), as `qm clone` does.
  const cloned = extra.cloneFrom !== undefined;
  if ((cores ?? d?.cores) !== undefined) f.cores = cores ?? d?.cores;
  else if (!cloned) report.error(r.file, r.path, "no 'cores' and no vm_defaults.cores");
  if ((memory ?? d?.memoryMb) !== undefined) f.memoryMb = memory ?? d?.memoryMb;
  else if (!cloned) report.error(r.file, r.path, "no 'memory_mb' and no vm_defaults.memory_mb");
  if (cores === undefined && d?.cores !== undefined)
    report.mapped(d.file, `${d.path}.cores`, 'vm_defaults.cores', 'cores', 'fallback');
  if (memory === undefined && d?.memoryMb !== undefined)
    report.mapped(d.file, `${d.path}.memory_mb`, 'vm_defaults.memory_mb', 'memoryMb', 'fallback');

  const storage = r.str('storage_pool') ?? d?.storage;
  if (r.has('storage_pool')) mapped('storage_pool', 'storage');
  else if (d?.storage)
    report.mapped(d.file, `${d.path}.storage_pool`, 'vm_defaults.storage_pool', 'storage', 'fallback');
  if (!storage) {
    if (!cloned)
      report.error(
        r.file,
        r.path,
        "no 'storage_pool' and no vm_defaults.storage_pool: the disk has no storage",
      );
  } else {
    f.storage = storage;
    ctx.storages.use(storage, 'images', r.file, r.has('storage_pool') ? r.at('storage_pool') : r.path);
  }
  const disk = r.int('disk_size_gb');
  if (disk !== undefined) {
    f.diskGb = disk;
    mapped('disk_size_gb', 'diskGb', 'the legacy tool never resized; Phoenix grows the disk to this');
    addFieldComment(
      guest,
      'diskGb',
      'legacy disk_size_gb was never applied by the old tool; Phoenix grows the disk to it',
    );
  }

  const bridge = r.str('network_bridge') ?? d?.bridge;
  if (r.has('network_bridge')) mapped('network_bridge', 'bridge');
  else if (d?.bridge)
    report.mapped(d.file, `${d.path}.network_bridge`, 'vm_defaults.network_bridge', 'bridge', 'fallback');
  if (bridge) f.bridge = bridge;
  else if (!cloned) {
    f.bridge = 'vmbr0';
    report.warn(r.file, r.path, "no network_bridge and no vm_defaults.network_bridge: 'vmbr0' assumed");
  }
  const mac = r.str('mac_address');
  if (mac) {
    if (!MAC_RE.test(mac)) report.error(r.file, r.at('mac_address'), `'${mac}' is not a MAC address`);
    f.mac = mac.toUpperCase();
    extra.macs.push({
      mac: mac.toUpperCase(),
      path: r.at('mac_address'),
      release: () => {
        delete f.mac;
        return 'mac removed: Proxmox generates one';
      },
    });
    mapped('mac_address', 'mac');
  }

  mapCloudInit(r, guest, extra, ctx);

  mapBoot(r, guest, S);
  extra.deps = mapDependencies(r, S);
  const feats = r.arr('features');
  if (feats) {
    const list = mapFeatureList(r, feats, S);
    if (list.length > 0) f.features = list;
  }

  const volumes = r.arr('volumes');
  if (volumes) {
    const nfs: Record<string, unknown>[] = [];
    volumes.forEach((v, i) => {
      const at = `${r.at('volumes')}[${i}]`;
      if (!isObject(v)) {
        report.error(r.file, at, 'expected a volume object');
        return;
      }
      if (v.type !== 'nfs') {
        report.warn(r.file, at, `volume type ${JSON.stringify(v.type)} is not nfs; kept in meta`);
        const meta = (f.meta as Record<string, unknown> | undefined) ?? {};
        meta.unmapped_volumes = [...((meta.unmapped_volumes as unknown[] | undefined) ?? []), v];
        f.meta = meta;
        return;
      }
      const server = typeof v.server === 'string' ? v.server : undefined;
      const exp = typeof v.path === 'string' ? v.path : undefined;
      const mp = typeof v.mount_point === 'string' ? v.mount_point : undefined;
      if (!server || !exp || !mp) {
        report.error(r.file, at, 'an nfs volume needs server, path and mount_point');
        return;
      }
      if (nfs.some((x) => x.mountPoint === mp)) {
        report.warn(r.file, at, `${mp} is already mounted by an earlier volume; dropped`);
        return;
      }
      const vol: Record<string, unknown> = { server, export: exp, mountPoint: mp };
      if (typeof v.options === 'string') vol.options = v.options;
      nfs.push(vol);
      if (typeof v.name === 'string')
        report.dropped(
          r.file,
          `${at}.name`,
          `${S}.volumes[].name`,
          'a label only; Phoenix identifies NFS volumes by mount point',
        );
    });
    if (nfs.length > 0) f.nfsVolumes = nfs;
    mapped('volumes', 'nfsVolumes', 'path → export, mount_point → mountPoint');
  }

  // --- snapshots
  const snapshots: SnapshotDecl[] = [];
  const tsn = r.str('template_snapshot_name');
  if (tsn !== undefined) {
    if (isTemplate)
      dropped(
        'template_snapshot_name',
        'never read by the legacy vm-manager, and a template needs no snapshot',
      );
    else {
      const n = isValidSnapshotName(tsn) ? tsn : sanitizeSnapshotName(tsn);
      if (n !== tsn)
        report.warn(
          r.file,
          r.at('template_snapshot_name'),
          `'${tsn}' is not a valid Proxmox snapshot name; imported as '${n}'`,
        );
      snapshots.push({ name: n, after: 'features' });
      mapped('template_snapshot_name', 'snapshots[]', 'after features; the legacy vm-manager never took it');
    }
  }
  const snaps = r.obj('snapshots');
  if (snaps) {
    for (const key of snaps.rest()) {
      const v = snaps.raw(key);
      const norm = key.replace(/_/g, '-');
      const after = norm === 'pre-features' ? 'config' : norm === 'post-features' ? 'features' : undefined;
      if (!after || v === false || v === undefined) {
        report.dropped(
          r.file,
          snaps.at(key),
          `${S}.snapshots.${key}`,
          after ? 'disabled' : 'unknown snapshot slot',
        );
        continue;
      }
      const name = typeof v === 'string' && isValidSnapshotName(v) ? v : norm;
      if (!snapshots.some((s) => s.name === name)) snapshots.push({ name, after });
      report.mapped(r.file, snaps.at(key), `${S}.snapshots.${key}`, 'snapshots[]', `after ${after}`);
    }
  }
  if (snapshots.length > 0) f.snapshots = snapshots;

  mapHealthCheck(r, guest, S);
  mapFirewall(r, guest, `${S}.firewall`);
  mapDescription(r, guest, S);
  collectMeta(r, guest, (k) => `${S}.${k}`);
  return extra;
}

function imageVolid(image: string, storages: StorageCatalog, r: Reader): string {
  const volid = /^([A-Za-z][A-Za-z0-9._-]*):(.+)$/.exec(image);
  if (volid) {
    storages.use(volid[1] ?? 'local', 'import', r.file, r.at('template_image'));
    return image;
  }
  const file = image.split('/').pop() ?? image;
  storages.use('local', 'import', r.file, r.at('template_image'));
  return `local:import/${file}`;
}

/**
 * Proxmox imports a disk only from `import/*.qcow2|raw|vmdk` (pve-storage Storage.pm:122
 * `$IMPORT_EXT_RE_1`; Plugin.pm `parse_volname` dies on any other name). Ubuntu's and Debian's
 * `.img` cloud images are qcow2 files: the volid is renamed and the admin told to rename the file.
 */
export function importableImage(volid: string): { volid: string; renamed: boolean; comment: string[] } {
  const m = /^([^:]+):import\/(.+)\.img$/.exec(volid);
  if (!m) return { volid, renamed: false, comment: [] };
  const stem = m[2]!.split('/').pop() ?? m[2]!;
  return {
    volid: `${m[1]}:import/${m[2]}.qcow2`,
    renamed: true,
    comment: [
      'The Ubuntu .img is qcow2, and Proxmox imports only .qcow2/.raw/.vmdk from import/',
      `(pve-storage Storage.pm:122): download it as ${stem}.qcow2`,
    ],
  };
}

function mapCloudInit(r: Reader, guest: ImportedGuest, extra: GuestExtra, ctx: VmContext): void {
  const f = guest.fields;
  const nc = r.obj('network_config');
  const uc = r.obj('user_config');
  const ci: Record<string, unknown> = {};
  const user = uc?.str('username');
  if (user) ci.user = user;
  else {
    ci.user = 'ubuntu';
    r.report.warn(
      r.file,
      r.path,
      "no user_config.username: cloud-init user 'ubuntu' assumed (the cloud image default)",
    );
  }
  const password = uc?.str('password');
  if (password !== undefined && uc) {
    r.report.dropped(
      r.file,
      uc.at('password'),
      `${S}.user_config.password`,
      'a secret: set cloudInit.password yourself (from an env var)',
    );
  }
  const keys = uc?.raw('ssh_keys') ?? uc?.raw('ssh_public_key');
  if (typeof keys === 'string' && keys) ci.sshKeys = [keys];
  else if (Array.isArray(keys))
    ci.sshKeys = keys.filter((k): k is string => typeof k === 'string' && k.length > 0);
  const given = nc?.str('ip');
  const ip = given && nc ? withPrefix(r, nc.at('ip'), given) : given;
  ci.ip = ip ?? 'dhcp';
  if (!ip) r.report.warn(r.file, nc?.path ?? r.path, "no network_config.ip: 'dhcp' assumed");
  if (ip && ip !== 'dhcp') {
    extra.ips.push({
      ip: ip.split('/')[0] ?? ip,
      path: nc?.at('ip') ?? r.path,
      release: () => {
        ci.ip = 'dhcp';
        delete ci.gw;
        return 'cloudInit.ip set to dhcp: give it a free address';
      },
    });
  }
  const netGw = nc?.str('gw');
  const userGw = uc?.str('gw');
  const gw = netGw ?? userGw;
  if (gw) ci.gw = gw;
  if (uc && userGw !== undefined) {
    if (netGw !== undefined)
      r.report.dropped(r.file, uc.at('gw'), `${S}.user_config.gw`, 'network_config.gw takes precedence');
    else r.report.mapped(r.file, uc.at('gw'), `${S}.user_config.gw`, 'cloudInit.gw');
  }
  const nsRaw = nc?.raw('nameserver') ?? nc?.raw('nameservers');
  if (nc?.has('nameserver') && nc.has('nameservers')) nc.raw('nameservers');
  const ns = Array.isArray(nsRaw)
    ? nsRaw.filter((x) => typeof x === 'string').join(' ')
    : typeof nsRaw === 'string'
      ? nsRaw
      : undefined;
  if (ns) {
    ci.nameserver = ns;
    addFieldComment(
      guest,
      'cloudInit',
      'the legacy tool ignored the nameserver and hard-coded 10.0.0.13; Phoenix applies this one',
    );
  }
  const search = nc?.str('searchdomain');
  if (search) ci.searchdomain = search;
  else if (ctx.domain) {
    ci.searchdomain = ctx.domain.value;
    r.report.mapped(
      ctx.domain.file,
      'domain_name',
      'domain_name',
      'cloudInit.searchdomain',
      'the legacy fallback for VMs',
    );
  }
  if (nc) {
    r.report.mapped(
      r.file,
      nc.path,
      `${S}.network_config`,
      'cloudInit',
      'ip, gw, nameserver(s), searchdomain',
    );
    for (const k of nc.rest())
      r.report.dropped(r.file, nc.at(k), `${S}.network_config.${k}`, 'not a cloud-init network option');
  }
  if (uc) {
    r.report.mapped(r.file, uc.path, `${S}.user_config.username`, 'cloudInit.user');
    for (const k of uc.rest())
      r.report.dropped(r.file, uc.at(k), `${S}.user_config.${k}`, 'not a cloud-init user option');
  }
  f.cloudInit = ci;
}
