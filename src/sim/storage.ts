// Storages and their volumes. Dir storages keep templates, ISOs and import images as real
// (placeholder) files under their path inside the state folder; guest volumes of every storage
// live in a registry (sim/volumes/<sid>.json) updated under the storage lock, like
// `cluster_lock_storage` (flock /var/lock/pve-manager/pve-storage-<sid>, 10 s).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type StorageEntry, storageContent, storageProp } from '../pve/format/index.js';
import { PveDie } from './errors.js';
import type { SimHost } from './host.js';
import { readJson, writeJson } from './io.js';
import { withFileLock } from './lock.js';

export interface Volume {
  size: number;
  vmid: number;
  format: 'raw' | 'qcow2' | 'subvol';
  /** Volume name this one is a linked clone of (same storage). */
  linkedFrom?: string;
}

interface Registry {
  volumes: Record<string, Volume>;
}

export const CONTENT_LABEL: Record<string, string> = {
  rootdir: 'Container',
  images: 'Disk image',
  vztmpl: 'Container template',
  iso: 'ISO image',
  backup: 'VZDump backup file',
  snippets: 'Snippets',
  import: 'Import',
};

export function splitVolid(volid: string): { sid: string; volname: string } | undefined {
  const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.exec(volid);
  return m ? { sid: m[1]!, volname: m[2]! } : undefined;
}

/** Path-based storages keep files under `path`. */
export function isPathStorage(s: StorageEntry): boolean {
  return s.type === 'dir' || s.type === 'nfs' || s.type === 'cifs' || s.type === 'btrfs';
}

export function storagePath(s: StorageEntry): string | undefined {
  if (isPathStorage(s)) return storageProp(s, 'path') ?? (s.type === 'nfs' ? `/mnt/pve/${s.id}` : undefined);
  return undefined;
}

/** `volume_has_feature` per storage type (pve-storage plugins), for the features the sim uses. */
export function hasFeature(
  s: StorageEntry,
  feature: 'snapshot' | 'clone' | 'template' | 'copy',
  volname: string,
): boolean {
  const isBase =
    /(^|\/)base(vol)?-\d+-disk-\d+/.test(volname.split('/').pop() ?? '') || /^base/.test(volname);
  const qcow2 = volname.endsWith('.qcow2');
  switch (s.type) {
    case 'lvmthin':
      if (feature === 'clone') return isBase;
      return true;
    case 'zfspool':
      if (feature === 'clone') return isBase;
      return true;
    case 'rbd':
      if (feature === 'clone') return isBase;
      return true;
    case 'dir':
    case 'nfs':
    case 'cifs':
      if (feature === 'snapshot') return qcow2;
      if (feature === 'clone') return qcow2 && isBase;
      return true;
    case 'lvm':
      return feature === 'copy';
    default:
      return feature === 'copy';
  }
}

function lockShown(sid: string): string {
  return `/var/lock/pve-manager/pve-storage-${sid}`;
}

export class Storage {
  constructor(private readonly host: SimHost) {}

  get(sid: string): StorageEntry {
    const s = this.host.storage(sid);
    if (!s) throw new PveDie(`storage '${sid}' does not exist`);
    return s;
  }

  private regPath(sid: string): string {
    return this.host.simPath('volumes', `${sid}.json`);
  }

  registry(sid: string): Registry {
    return readJson<Registry>(this.regPath(sid), { volumes: {} });
  }

  /** Runs `fn` on the storage's registry under the storage lock and saves it. */
  private update<T>(sid: string, fn: (reg: Registry) => T): T {
    const shown = lockShown(sid);
    return withFileLock(this.host.io, this.host.hostPath(shown), shown, 10, false, () => {
      const reg = this.registry(sid);
      const res = fn(reg);
      writeJson(this.regPath(sid), reg);
      return res;
    });
  }

  volume(volid: string): Volume | undefined {
    const v = splitVolid(volid);
    if (!v) return undefined;
    return this.registry(v.sid).volumes[v.volname];
  }

  /** Name of a new disk (`find_free_diskname`): lowest free N among this guest's disks on the storage. */
  private freeName(reg: Registry, s: StorageEntry, vmid: number, ct: boolean, format: string): string {
    const used = new Set<number>();
    for (const name of Object.keys(reg.volumes)) {
      const m = new RegExp(`(?:^|/)(?:vm|base|subvol|basevol)-${vmid}-disk-(\\d+)`).exec(name);
      if (m) used.add(Number(m[1]));
    }
    let n = 0;
    while (used.has(n)) n++;
    if (s.type === 'zfspool') return ct ? `subvol-${vmid}-disk-${n}` : `vm-${vmid}-disk-${n}`;
    if (isPathStorage(s)) return `${vmid}/vm-${vmid}-disk-${n}.${format}`;
    return `vm-${vmid}-disk-${n}`;
  }

  /** Checks the storage allows `content`; the message names the content the way pve-storage does. */
  requireContent(sid: string, content: string): StorageEntry {
    const s = this.get(sid);
    if (!storageContent(s).includes(content)) {
      throw new PveDie(
        `storage '${sid}' does not allow content type '${content}' (${CONTENT_LABEL[content] ?? content})`,
      );
    }
    return s;
  }

  /** `vdisk_alloc`: a new volume for `vmid`; CT volumes on ZFS are subvols, on dirs raw images. */
  alloc(
    sid: string,
    vmid: number,
    sizeBytes: number,
    opts: { ct: boolean; format?: 'raw' | 'qcow2' },
  ): string {
    const s = this.get(sid);
    const format = opts.ct
      ? s.type === 'zfspool'
        ? 'subvol'
        : 'raw'
      : (opts.format ?? (isPathStorage(s) ? 'qcow2' : 'raw'));
    const volname = this.update(sid, (reg) => {
      const name = this.freeName(reg, s, vmid, opts.ct, format === 'subvol' ? 'raw' : format);
      reg.volumes[name] = { size: sizeBytes, vmid, format };
      return name;
    });
    return `${sid}:${volname}`;
  }

  /** A cloud-init drive `vm-<vmid>-cloudinit` (4 MiB; qcow2 on path storages). */
  allocCloudinit(sid: string, vmid: number): string {
    const s = this.get(sid);
    const name = isPathStorage(s) ? `${vmid}/vm-${vmid}-cloudinit.qcow2` : `vm-${vmid}-cloudinit`;
    this.update(sid, (reg) => {
      reg.volumes[name] = { size: 4 * 1024 * 1024, vmid, format: isPathStorage(s) ? 'qcow2' : 'raw' };
    });
    return `${sid}:${name}`;
  }

  /** Registers a volume with a given name (e.g. an imported disk). */
  free(volid: string): void {
    const v = splitVolid(volid);
    if (!v) return;
    const s = this.host.storage(v.sid);
    if (!s) return;
    this.update(v.sid, (reg) => {
      const base = v.volname;
      const users = Object.entries(reg.volumes).filter(([n, vol]) => n !== base && vol.linkedFrom === base);
      // LVM-thin cannot see thin-snapshot users of a base volume (pve-storage LvmThinPlugin).
      if (users.length > 0 && s.type !== 'lvmthin' && /(^|\/)base(vol)?-/.test(base)) {
        throw new PveDie(`base volume '${base}' is still in use by linked clones`);
      }
      delete reg.volumes[base];
    });
  }

  /** Volumes that are linked clones of `volid` (not detectable on LVM-thin). */
  linkedUsers(volid: string): string[] {
    const v = splitVolid(volid);
    if (!v) return [];
    const s = this.host.storage(v.sid);
    if (!s || s.type === 'lvmthin') return [];
    return Object.entries(this.registry(v.sid).volumes)
      .filter(([n, vol]) => n !== v.volname && vol.linkedFrom === v.volname)
      .map(([n]) => `${v.sid}:${n}`);
  }

  /** `vdisk_create_base`: renames `vm-`/`subvol-` to `base-`/`basevol-`. Returns the new volid. */
  createBase(volid: string): string {
    const v = splitVolid(volid);
    if (!v) throw new PveDie(`unable to parse volume ID '${volid}'`);
    const newName = v.volname
      .replace(/(^|\/)vm-(\d+)-disk-(\d+)/, '$1base-$2-disk-$3')
      .replace(/(^|\/)subvol-(\d+)-disk-(\d+)/, '$1basevol-$2-disk-$3');
    this.update(v.sid, (reg) => {
      const vol = reg.volumes[v.volname];
      if (!vol) throw new PveDie(`volume '${volid}' does not exist`);
      delete reg.volumes[v.volname];
      reg.volumes[newName] = vol;
    });
    return `${v.sid}:${newName}`;
  }

  /** `vdisk_clone` (linked): names per storage type as SEMANTICS §2.5/§3.2 show them. */
  cloneLinked(volid: string, newVmid: number, ct: boolean): string {
    const v = splitVolid(volid);
    if (!v) throw new PveDie(`unable to parse volume ID '${volid}'`);
    const s = this.get(v.sid);
    const name = this.update(v.sid, (reg) => {
      const src = reg.volumes[v.volname];
      if (!src) throw new PveDie(`volume '${volid}' does not exist`);
      const own = this.freeName(reg, s, newVmid, ct, 'qcow2');
      let full: string;
      if (s.type === 'zfspool') full = `${v.volname}/${own}`;
      else if (isPathStorage(s)) full = `${v.volname}/${own}`.replace(/^(\d+)\//, '$1/');
      else full = own; // lvmthin: the clone's name does not encode its base
      reg.volumes[full] = { size: src.size, vmid: newVmid, format: src.format, linkedFrom: v.volname };
      return full;
    });
    return `${v.sid}:${name}`;
  }

  /** Full copy into `targetSid` (or the source storage). */
  cloneFull(volid: string, newVmid: number, ct: boolean, targetSid?: string): string {
    const v = splitVolid(volid);
    if (!v) throw new PveDie(`unable to parse volume ID '${volid}'`);
    const src = this.registry(v.sid).volumes[v.volname];
    if (!src) throw new PveDie(`volume '${volid}' does not exist`);
    return this.alloc(
      targetSid ?? v.sid,
      newVmid,
      src.size,
      src.format === 'qcow2' ? { ct, format: 'qcow2' } : { ct },
    );
  }

  resize(volid: string, sizeBytes: number): void {
    const v = splitVolid(volid);
    if (!v) return;
    this.update(v.sid, (reg) => {
      const vol = reg.volumes[v.volname];
      if (vol) vol.size = sizeBytes;
    });
  }

  /** Registers an imported image as a new disk of `vmid`. */
  importImage(sid: string, vmid: number, sizeBytes: number, format?: 'raw' | 'qcow2'): string {
    return this.alloc(sid, vmid, sizeBytes, format ? { ct: false, format } : { ct: false });
  }

  /** Files of a path storage's content folder (`template/cache`, `template/iso`, `import`...). */
  files(
    s: StorageEntry,
    content: 'vztmpl' | 'iso' | 'import' | 'snippets' | 'backup',
  ): Array<{ name: string; size: number }> {
    const base = storagePath(s);
    if (!base) return [];
    const sub = {
      vztmpl: 'template/cache',
      iso: 'template/iso',
      import: 'import',
      snippets: 'snippets',
      backup: 'dump',
    }[content];
    const dir = this.host.hostPath(join(base, sub));
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => !f.startsWith('.'))
      .sort()
      .map((name) => ({ name, size: statSync(join(dir, name)).size }));
  }

  /** Host path (inside the state folder) of a content volume such as `local:vztmpl/x.tar.zst`. */
  contentFilePath(volid: string): { path: string; shown: string; vtype: string } | undefined {
    const v = splitVolid(volid);
    if (!v) return undefined;
    const s = this.host.storage(v.sid);
    if (!s) return undefined;
    const base = storagePath(s);
    const m = /^(vztmpl|iso|import|snippets|backup)\/(.+)$/.exec(v.volname);
    if (!m || !base) return undefined;
    const sub = {
      vztmpl: 'template/cache',
      iso: 'template/iso',
      import: 'import',
      snippets: 'snippets',
      backup: 'dump',
    }[m[1] as 'vztmpl'];
    const shown = join(base, sub, m[2]!);
    return { path: this.host.hostPath(shown), shown, vtype: m[1]! };
  }
}
