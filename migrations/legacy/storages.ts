// Storage ids the guests use, declared with a type and content Phoenix can check on the host.
// The legacy system made its storages from ZFS datasets (`pvesm add zfspool <id> -pool
// <pool/ds>` / `pvesm add dir <id> -path /<pool/ds>`), so the hypervisor config's
// `zfs.datasets` and `proxmox_storage_ids` are the source of truth; where they are silent the
// importer guesses and says so.

import type { ContentType, StorageDecl, StorageType } from '../../src/dsl/model.js';
import { isObject, type Json } from './reader.js';
import type { Report } from './report.js';

const CONTENT: readonly ContentType[] = [
  'images',
  'rootdir',
  'vztmpl',
  'iso',
  'backup',
  'snippets',
  'import',
];
const TYPES: readonly StorageType[] = ['dir', 'lvmthin', 'lvm', 'zfspool', 'nfs', 'cifs', 'btrfs', 'rbd'];

interface Dataset {
  pool: string;
  name: string;
  type?: StorageType;
  content?: ContentType[];
  index: number;
}

export interface StorageUse {
  content: ContentType;
  /** Where the use is, for the report (`lxc_configs.900.storage_pool`). */
  file: string;
  path: string;
}

export class StorageCatalog {
  private readonly datasets: Dataset[] = [];
  /** Storage id → dataset, from `proxmox_storage_ids` and the `<pool>-<dataset>` convention. */
  private readonly byId = new Map<string, Dataset>();
  private readonly uses = new Map<string, StorageUse[]>();
  readonly mountPointBase: string;

  constructor(
    private readonly report: Report,
    private readonly hvFile: string | undefined,
    hv: Record<string, Json> | undefined,
  ) {
    this.mountPointBase = typeof hv?.mount_point_base === 'string' ? hv.mount_point_base : '/mnt/pve';
    const zfs = hv?.zfs;
    const list = isObject(zfs) && Array.isArray(zfs.datasets) ? zfs.datasets : [];
    list.forEach((d, index) => {
      if (!isObject(d) || typeof d.name !== 'string' || typeof d.pool !== 'string') return;
      const ds: Dataset = { pool: d.pool, name: d.name, index };
      const type = d.proxmox_storage_type;
      if (typeof type === 'string' && (TYPES as readonly string[]).includes(type))
        ds.type = type as StorageType;
      if (typeof d.proxmox_content_type === 'string') {
        ds.content = d.proxmox_content_type
          .split(',')
          .map((c) => c.trim())
          .filter((c): c is ContentType => (CONTENT as readonly string[]).includes(c));
      }
      this.datasets.push(ds);
      const id = `${ds.pool}-${ds.name}`;
      if (!this.byId.has(id)) this.byId.set(id, ds);
    });
    const ids = hv?.proxmox_storage_ids;
    if (isObject(ids)) {
      for (const [key, id] of Object.entries(ids)) {
        if (typeof id !== 'string') continue;
        // The legacy lookup key is `<pool>_<dataset with - → _>` (test/fixtures/legacy/FIELDS.md 4.3).
        const ds = this.datasets.find(
          (d) => `${d.pool}_${d.name.replace(/-/g, '_')}`.toLowerCase() === key.toLowerCase(),
        );
        if (ds && !this.byId.has(id)) this.byId.set(id, ds);
      }
    }
  }

  use(id: string, content: ContentType, file: string, path: string): void {
    const list = this.uses.get(id) ?? [];
    list.push({ content, file, path });
    this.uses.set(id, list);
  }

  /** The storage id of the dir storage whose folder is `hostDir` (`/fastData/shared-iso`). */
  idForHostDir(hostDir: string): string | undefined {
    const clean = hostDir.replace(/\/+$/, '');
    if (clean === '/var/lib/vz') return 'local';
    for (const [id, ds] of [...this.byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const paths = [`/${ds.pool}/${ds.name}`, `${this.mountPointBase}/${ds.pool}/${ds.name}`];
      if (paths.includes(clean)) return id;
    }
    return undefined;
  }

  /** The storage the legacy tool kept OS templates and archives in (the `shared-iso` dataset). */
  templateStorageId(): string | undefined {
    const ds = this.datasets.find((d) => d.name === 'shared-iso');
    if (!ds) return undefined;
    for (const [id, d] of [...this.byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))
      if (d === ds) return id;
    return `${ds.pool}-${ds.name}`;
  }

  /** Declarations for every storage used, sorted by id, with comments on the guesses. */
  declare(): { storages: Map<string, StorageDecl>; comments: Map<string, string[]> } {
    const storages = new Map<string, StorageDecl>();
    const comments = new Map<string, string[]>();
    const hv = this.hvFile ?? 'phoenix_hypervisor_config.json';
    for (const id of [...this.uses.keys()].sort()) {
      const uses = this.uses.get(id) ?? [];
      const first = uses[0];
      const needed = [...new Set(uses.map((u) => u.content))];
      const notes: string[] = [];
      let decl: StorageDecl;
      const ds = this.byId.get(id) ?? this.datasetByBareName(id);
      if (ds) {
        const guessedType = !ds.type;
        const type = ds.type ?? (needed.includes('vztmpl') || needed.includes('iso') ? 'dir' : 'zfspool');
        decl = { type, content: [] };
        if (type === 'zfspool') decl.pool = `${ds.pool}/${ds.name}`;
        else if (type === 'dir') decl.path = `/${ds.pool}/${ds.name}`;
        const declared = ds.content ?? [];
        const missing = needed.filter((c) => !declared.includes(c));
        decl.content = sortContent([...declared, ...needed]);
        const dsPath = `zfs.datasets[${ds.index}]`;
        if (this.byId.get(id) !== ds) {
          this.report.warn(
            hv,
            dsPath,
            `storage id '${id}' matched to dataset ${ds.pool}/${ds.name} by name only`,
          );
          notes.push(`guessed: '${id}' is the ZFS dataset ${ds.pool}/${ds.name} (matched by name)`);
        }
        if (guessedType) {
          this.report.warn(
            hv,
            dsPath,
            `no proxmox_storage_type for ${ds.pool}/${ds.name}; guessed '${type}'`,
          );
          notes.push(`guessed type '${type}': the dataset has no proxmox_storage_type`);
        }
        if (missing.length > 0 && ds.content) {
          this.report.warn(
            hv,
            `${dsPath}.proxmox_content_type`,
            `storage '${id}' is used for ${missing.join(', ')} but declares content ${declared.join(',') || '(none)'}; added`,
          );
          notes.push(
            `content ${missing.join(', ')} added: guests use it for that (legacy declared ${declared.join(',')})`,
          );
        } else if (!ds.content) {
          notes.push('guessed content from how guests use it');
        }
      } else {
        decl = this.wellKnown(id, needed) ?? this.guess(id, needed);
        if (!this.wellKnown(id, needed) && first) {
          this.report.warn(
            first.file,
            first.path,
            `storage '${id}' is not described by the hypervisor config; guessed ${decl.type}${decl.pool ? ` pool ${decl.pool}` : ''}${decl.path ? ` path ${decl.path}` : ''}`,
          );
          notes.push('guessed: not described by the hypervisor config; check `pvesm status`');
        }
      }
      storages.set(id, decl);
      if (notes.length > 0) comments.set(id, notes);
    }
    return { storages, comments };
  }

  private datasetByBareName(id: string): Dataset | undefined {
    const matches = this.datasets.filter((d) => d.name === id);
    return matches.length === 1 ? matches[0] : undefined;
  }

  private wellKnown(id: string, needed: ContentType[]): StorageDecl | undefined {
    if (id === 'local') {
      return {
        type: 'dir',
        content: sortContent(['vztmpl', 'iso', 'import', ...needed]),
        path: '/var/lib/vz',
      };
    }
    if (id === 'local-lvm')
      return { type: 'lvmthin', content: sortContent(['images', 'rootdir', ...needed]) };
    if (id === 'local-zfs') {
      return { type: 'zfspool', content: sortContent(['images', 'rootdir', ...needed]), pool: 'rpool/data' };
    }
    return undefined;
  }

  private guess(id: string, needed: ContentType[]): StorageDecl {
    if (needed.includes('vztmpl') || needed.includes('iso') || needed.includes('import')) {
      return { type: 'dir', content: sortContent(needed), path: `/${id.replace(/-/, '/')}` };
    }
    // `quickOS-vm-disks` → dataset `quickOS/vm-disks`: the legacy `<pool>-<dataset>` convention.
    return {
      type: 'zfspool',
      content: sortContent(needed),
      pool: id.includes('-') ? id.replace(/-/, '/') : id,
    };
  }
}

function sortContent(list: ContentType[]): ContentType[] {
  return [...new Set(list)].sort((a, b) => CONTENT.indexOf(a) - CONTENT.indexOf(b));
}
