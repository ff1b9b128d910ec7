// Storages and their volumes. Dir storages keep templates, ISOs and import images as real
// (placeholder) files under their path inside the state folder; guest volumes of every storage
// live in a registry (sim/volumes/<sid>.json) updated under the storage lock, like
// `cluster_lock_storage` (flock /var/lock/pve-manager/pve-storage-<sid>, 10 s).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type StorageEntry, storageContent, storageProp } from '../pve/format/index.js';
import { isSharedStorage, storageOnNode } from './cluster.js';
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

export type FileContent = 'vztmpl' | 'iso' | 'import' | 'snippets' | 'backup';

const SUBDIR: Record<FileContent, string> = {
  vztmpl: 'template/cache',
  iso: 'template/iso',
  import: 'import',
  snippets: 'snippets',
  backup: 'dump',
};

const SAFE = '[a-zA-Z0-9\\-.+=_]';

/**
 * The file names a dir storage accepts per content type and the format it reports, as
 * `parse_volname` (pve-storage src/PVE/Storage/Plugin.pm:812-837) and the listing
 * `get_subdir_files` (Plugin.pm:1706-1755) match them with the extension REs of
 * src/PVE/Storage.pm:118-129: `import/` only `.ova .ovf .qcow2 .raw .vmdk` (a cloud image
 * named `.img` is neither listed nor usable), `iso/` `.iso .img`, `vztmpl/` `.tar[.gz|.xz|.zst|.bz2]`.
 */
export function fileFormat(content: FileContent, name: string): string | undefined {
  let m: RegExpExecArray | null;
  switch (content) {
    case 'iso':
      return /^[^/]+\.(?:iso|img)$/i.test(name) ? 'iso' : undefined;
    case 'vztmpl':
      m = /^[^/]+\.(?:(tar)|tar\.(gz|xz|zst|bz2))$/i.exec(name);
      return m ? (m[1] ? 'tar' : `t${m[2]}`) : undefined;
    case 'import':
      m = new RegExp(`^${SAFE}+\\.(ova|ovf|qcow2|raw|vmdk)$`, 'i').exec(name);
      return m ? m[1] : undefined;
    case 'backup':
      m = /^[^/]+\.(tgz|(?:tar|vma)(?:\.(?:gz|lzo|zst))?)$/.exec(name);
      return m ? m[1] : undefined;
    case 'snippets':
      return /^[^/]+$/.test(name) ? 'snippet' : undefined;
  }
}

function lockShown(sid: string): string {
  return `/var/lock/pve-manager/pve-storage-${sid}`;
}

export class Storage {
  constructor(private readonly host: SimHost) {}

  /**
   * `storage_check_enabled` for this node, as `activate_storage` runs it before any volume
   * operation (pve-storage src/PVE/Storage.pm:264-291, 1339).
   */
  get(sid: string): StorageEntry {
    const s = this.host.storage(sid);
    if (!s) throw new PveDie(`storage '${sid}' does not exist`);
    if (storageProp(s, 'disable') !== undefined) throw new PveDie(`storage '${sid}' is disabled`);
    if (!storageOnNode(s, this.host.node))
      throw new PveDie(`storage '${sid}' is not available on node '${this.host.node}'`);
    return s;
  }

  /** A shared storage's volumes are one registry for the cluster; a local one's are per node. */
  private regPath(sid: string): string {
    const s = this.host.storage(sid);
    return s && isSharedStorage(s)
      ? this.host.simPath('volumes', `${sid}.json`)
      : this.host.nodeSimPath('volumes', `${sid}.json`);
  }

  /** Shared storages lock cluster-wide: `cluster_lock_storage` takes a pmxcfs lock for them (pve-storage src/PVE/Storage/Plugin.pm:759-774). */
  private lockPath(sid: string, shown: string): string {
    const s = this.host.storage(sid);
    return s && isSharedStorage(s) ? this.host.simPath('locks', `storage-${sid}`) : this.host.hostPath(shown);
  }

  registry(sid: string): Registry {
    return readJson<Registry>(this.regPath(sid), { volumes: {} });
  }

  /** Runs `fn` on the storage's registry under the storage lock and saves it. */
  private update<T>(sid: string, fn: (reg: Registry) => T): T {
    const shown = lockShown(sid);
    return withFileLock(this.host.io, this.lockPath(sid, shown), shown, 10, false, () => {
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

  contentOf(s: StorageEntry): string[] {
    return storageContent(s);
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

  /**
   * Capacity model: dir/nfs storages 100 GiB, the others 1 TiB. Used: files at their size; a
   * non-sparse ZFS zvol reserves its full size (`zfs create -V` without `-s`, pve-storage
   * src/PVE/Storage/ZFSPoolPlugin.pm:367-382); subvols (refquota), thin LVs and sparse zvols use
   * an eighth of their size (data written so far). `pvesh get /nodes/{node}/storage`,
   * `/cluster/resources` and `pvesm status` report these numbers.
   */
  usage(s: StorageEntry): { total: number; used: number; avail: number } {
    const total = s.type === 'dir' || s.type === 'nfs' ? 100 * 1024 ** 3 : 1024 ** 4;
    const thick = s.type === 'zfspool' && storageProp(s, 'sparse') === undefined;
    let used = 0;
    for (const v of Object.values(this.registry(s.id).volumes))
      used += thick && v.format !== 'subvol' ? v.size : Math.trunc(v.size / 8);
    for (const c of ['vztmpl', 'iso', 'import', 'backup', 'snippets'] as const)
      for (const f of this.files(s, c)) used += f.size;
    used = Math.trunc(used);
    return { total, used, avail: Math.max(0, total - used) };
  }

  /**
   * Refuses an allocation the storage cannot hold: a non-sparse zvol larger than the pool's free
   * space (`zfs error: cannot create '<pool>/<name>': out of space`, ZFSPoolPlugin.pm:217-242,
   * 367-382); thick LVM `not enough free space (<free> < <size>)` (LVMPlugin.pm:713, KiB). Subvols,
   * thin LVs, sparse zvols and sparse files overcommit as on Proxmox.
   */
  private checkSpace(s: StorageEntry, name: string, sizeBytes: number, format: string): void {
    const { avail } = this.usage(s);
    if (sizeBytes <= avail) return;
    if (s.type === 'zfspool' && format !== 'subvol' && storageProp(s, 'sparse') === undefined)
      throw new PveDie(`zfs error: cannot create '${storageProp(s, 'pool')}/${name}': out of space`);
    if (s.type === 'lvm')
      throw new PveDie(
        `not enough free space (${Math.trunc(avail / 1024)} < ${Math.trunc(sizeBytes / 1024)})`,
      );
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
      this.checkSpace(s, name, sizeBytes, format);
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

  /** `vdisk_clone` (linked): names per storage type as each plugin's `clone_image` returns them. */
  cloneLinked(volid: string, newVmid: number, ct: boolean): string {
    const v = splitVolid(volid);
    if (!v) throw new PveDie(`unable to parse volume ID '${volid}'`);
    const s = this.get(v.sid);
    const name = this.update(v.sid, (reg) => {
      const src = reg.volumes[v.volname];
      if (!src) throw new PveDie(`volume '${volid}' does not exist`);
      const own = this.freeName(reg, s, newVmid, ct, 'qcow2');
      // `clone_image` names the clone after the base's own name, never its chain:
      // ZFS `"$basename/$name"` (pve-storage src/PVE/Storage/ZFSPoolPlugin.pm:141-148, 715-749),
      // dir `"$basevmid/$basename/$vmid/$name"` (src/PVE/Storage/Plugin.pm:800-811, 1002-1046).
      const parts = v.volname.split('/');
      let full: string;
      // RBD likewise `"$basename/$name"` (src/PVE/Storage/RBDPlugin.pm:665-701).
      if (s.type === 'zfspool' || s.type === 'rbd') full = `${parts[parts.length - 1]}/${own}`;
      else if (isPathStorage(s)) full = `${parts.slice(-2).join('/')}/${own}`;
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

  /**
   * `storage_migrate` of a local volume to `target` (the same storage id on another node): the
   * volume keeps its name when it is free there (`allow_rename`), else gets the next free one
   * (pve-storage src/PVE/Storage.pm `storage_migrate`). Returns the volid on the target.
   */
  migrateTo(volid: string, target: Storage): string {
    const v = splitVolid(volid);
    if (!v) throw new PveDie(`unable to parse volume ID '${volid}'`);
    const vol = this.registry(v.sid).volumes[v.volname];
    if (!vol) throw new PveDie(`volume '${volid}' does not exist`);
    const s = target.get(v.sid);
    const name = target.update(v.sid, (reg) => {
      const free = reg.volumes[v.volname]
        ? target.freeName(
            reg,
            s,
            vol.vmid,
            vol.format === 'subvol',
            vol.format === 'subvol' ? 'raw' : vol.format,
          )
        : v.volname;
      // storage_migrate streams the data (volume_export | volume_import, pve-storage
      // src/PVE/Storage.pm:917): the copy on the target is a volume of its own, never a linked
      // clone of a base that only exists on the source node.
      const { linkedFrom: _base, ...copy } = vol;
      reg.volumes[free] = copy;
      return free;
    });
    return `${v.sid}:${name}`;
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

  /** Files of a path storage's content folder that pve-storage lists (`get_subdir_files`). */
  files(s: StorageEntry, content: FileContent): Array<{ name: string; size: number; format: string }> {
    const base = storagePath(s);
    if (!base) return [];
    const dir = this.host.storageFile(s, join(base, SUBDIR[content]));
    if (!existsSync(dir)) return [];
    const out: Array<{ name: string; size: number; format: string }> = [];
    for (const name of readdirSync(dir).sort()) {
      const st = statSync(join(dir, name));
      const format = fileFormat(content, name);
      if (st.isDirectory() || format === undefined) continue;
      out.push({ name, size: st.size, format });
    }
    return out;
  }

  /**
   * Host path (inside the state folder) of a content volume such as `local:vztmpl/x.tar.zst`;
   * undefined when it is not a content volume of a path storage. A name `parse_volname` rejects
   * dies with its message (pve-storage src/PVE/Storage/Plugin.pm:836).
   */
  contentFilePath(volid: string): { path: string; shown: string; vtype: FileContent } | undefined {
    const v = splitVolid(volid);
    if (!v) return undefined;
    const s = this.host.storage(v.sid);
    if (!s) return undefined;
    const base = storagePath(s);
    const m = /^(vztmpl|iso|import|snippets|backup)\/(.+)$/.exec(v.volname);
    if (!m || !base) return undefined;
    const vtype = m[1] as FileContent;
    if (fileFormat(vtype, m[2]!) === undefined)
      throw new PveDie(`unable to parse directory volume name '${v.volname}'`);
    const shown = join(base, SUBDIR[vtype], m[2]!);
    return { path: this.host.storageFile(s, shown), shown, vtype };
  }
}
