// Creating, resetting, describing and topping up the simulated host (node `pve` with the
// storages of a default install plus those the legacy fleet uses, an Ubuntu 24.04 LXC template
// and the Ubuntu noble cloud image).
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  parseStorageCfg,
  type StorageEntry,
  serializeStorageCfg,
  storageContent,
  storageProp,
} from '../pve/format/index.js';
import { simEnv } from './env.js';
import { SimHost } from './host.js';
import { processOut, readJson, readText, writeFileAtomic } from './io.js';
import { isPathStorage, storagePath } from './storage.js';

export const DEFAULT_TEMPLATE = 'ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
/** Ubuntu's `.img` cloud image is qcow2; `import/` only takes `.ova .ovf .qcow2 .raw .vmdk` (pve-storage src/PVE/Storage.pm:122). */
export const DEFAULT_CLOUD_IMAGE = 'noble-server-cloudimg-amd64.qcow2';

const STORAGE_CFG = `dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup,import,snippets

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images

zfspool: local-zfs
\tpool rpool/data
\tsparse
\tcontent images,rootdir

zfspool: quickOS-lxc-disks
\tpool quickOS/lxc-disks
\tcontent images,rootdir

zfspool: quickOS-vm-disks
\tpool quickOS/vm-disks
\tcontent images

zfspool: quickOS-lxc-persistent-data
\tpool quickOS/lxc-persistent-data
\tcontent images,rootdir

dir: fastData-shared-iso
\tpath /fastData/shared-iso
\tcontent iso,vztmpl
\tshared 1

dir: fastData-shared-backups
\tpath /fastData/shared-backups
\tcontent backup
\tshared 1
`;

/** Placeholder content for template/image files: the simulator never reads them. */
const placeholder = (name: string): string => `phoenix simulator placeholder for ${name}\n`;

export function isInitialized(root: string): boolean {
  return existsSync(join(root, 'etc', 'pve', 'storage.cfg'));
}

/** Creates the simulated host in `root` (idempotent: existing files are kept). Returns what it created. */
export function initSimHost(root: string, node = 'pve'): string[] {
  const created: string[] = [];
  const put = (rel: string, text: string): void => {
    const p = join(root, rel);
    if (existsSync(p)) return;
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    created.push(rel);
  };
  for (const d of [
    `etc/pve/nodes/${node}/lxc`,
    `etc/pve/nodes/${node}/qemu-server`,
    'etc/pve/firewall',
    'sim/guests',
    'sim/volumes',
  ]) {
    mkdirSync(join(root, d), { recursive: true });
  }
  ensurePveLinks(root, node);
  put('etc/pve/storage.cfg', STORAGE_CFG);
  put('etc/subuid', 'root:100000:65536\n');
  put('etc/subgid', 'root:100000:65536\n');
  put('etc/hostname', `${node}\n`);
  put(`var/lib/vz/template/cache/${DEFAULT_TEMPLATE}`, placeholder(DEFAULT_TEMPLATE));
  put(`var/lib/vz/import/${DEFAULT_CLOUD_IMAGE}`, placeholder(DEFAULT_CLOUD_IMAGE));
  put(`fastData/shared-iso/template/cache/${DEFAULT_TEMPLATE}`, placeholder(DEFAULT_TEMPLATE));
  mkdirSync(join(root, 'var/lib/vz/template/iso'), { recursive: true });
  mkdirSync(join(root, 'var/lib/vz/snippets'), { recursive: true });
  mkdirSync(join(root, 'var/lib/vz/dump'), { recursive: true });
  const host = new SimHost({ ...simEnv({}), root, node }, processOut);
  host.refreshVmlist();
  return created;
}

/**
 * The links pmxcfs shows in /etc/pve on every node (pve-cluster src/pmxcfs/pmxcfs.c:663-687):
 * `local` → `nodes/<node>`, `qemu-server`, `lxc` and `openvz` → the node's folders.
 */
export function ensurePveLinks(root: string, node: string): void {
  for (const [name, target] of [
    ['local', `nodes/${node}`],
    ['qemu-server', `nodes/${node}/qemu-server`],
    ['openvz', `nodes/${node}/openvz`],
    ['lxc', `nodes/${node}/lxc`],
  ] as const) {
    const p = join(root, 'etc/pve', name);
    let cur: string | undefined;
    try {
      cur = readlinkSync(p);
    } catch {
      cur = undefined;
    }
    if (cur === target) continue;
    rmSync(p, { force: true });
    mkdirSync(dirname(p), { recursive: true });
    symlinkSync(target, p);
  }
}

/** Deletes everything in `root` (guests, volumes, call log) and initializes it again. */
export function resetSimHost(root: string, node = 'pve'): void {
  if (existsSync(root)) {
    for (const entry of readdirSync(root)) rmSync(join(root, entry), { recursive: true, force: true });
  }
  initSimHost(root, node);
}

export interface SimSummary {
  root: string;
  node: string;
  storages: Array<{ id: string; type: string; content: string[] }>;
  guests: Array<{
    vmid: number;
    kind: string;
    name: string;
    status: string;
    lock?: string;
    template: boolean;
  }>;
  calls: number;
}

/** What `phoenix sim show` prints. */
export function showSimHost(root: string, node = 'pve'): SimSummary {
  const host = new SimHost({ ...simEnv({}), root, node }, processOut);
  const guests = host.listGuests().map((g) => {
    const sec = host.loadConf(g.kind, g.vmid).main;
    const out: SimSummary['guests'][number] = {
      vmid: g.vmid,
      kind: g.kind,
      name: sec.props.hostname ?? sec.props.name ?? '',
      status: host.runtime(g.vmid).status,
      template: sec.props.template === '1',
    };
    if (sec.props.lock) out.lock = sec.props.lock;
    return out;
  });
  const calls = (readText(join(root, 'calls.jsonl')) ?? '').split('\n').filter(Boolean).length;
  return {
    root,
    node,
    storages: host.storages().map((s) => ({ id: s.id, type: s.type, content: storageContent(s) })),
    guests,
    calls,
  };
}

/** A storage a configuration relies on (shape of the DSL's StorageDecl plus its id). */
export interface StorageNeed {
  id: string;
  type: string;
  content: string[];
  pool?: string;
  path?: string;
}

export interface SimNeeds {
  storages: StorageNeed[];
  /** OS templates / images as volids (`local:vztmpl/x.tar.zst`, `local:import/x.img`) or absolute paths. */
  templates: string[];
}

export interface EnsureResult {
  /** What was added, one human-readable line each (e.g. `storage 'tank' (zfspool)`). */
  added: string[];
  /** In strict mode: what the host lacks (nothing is added; the commands will fail as on a real host). */
  missing: string[];
}

/**
 * Makes the simulated host hold what a config references: adds missing storages (storage.cfg)
 * and template/image files, or in strict mode only reports them. Initializes `root` if needed.
 */
export function ensureSimHost(root: string, needs: SimNeeds, strict: boolean): EnsureResult {
  const res: EnsureResult = { added: [], missing: [] };
  if (!isInitialized(root)) initSimHost(root);
  const cfgPath = join(root, 'etc', 'pve', 'storage.cfg');
  const entries: StorageEntry[] = parseStorageCfg(readText(cfgPath) ?? '');
  let changed = false;
  for (const need of needs.storages) {
    const cur = entries.find((e) => e.id === need.id);
    if (cur) {
      const have = storageContent(cur);
      const lacking = need.content.filter((c) => !have.includes(c));
      if (lacking.length === 0) continue;
      if (strict) {
        res.missing.push(`storage '${need.id}' lacks content ${lacking.join(',')}`);
        continue;
      }
      const idx = cur.props.findIndex(([k]) => k === 'content');
      const value = [...have, ...lacking].join(',');
      if (idx >= 0) cur.props[idx] = ['content', value];
      else cur.props.push(['content', value]);
      res.added.push(`content ${lacking.join(',')} on storage '${need.id}'`);
      changed = true;
      continue;
    }
    if (strict) {
      res.missing.push(`storage '${need.id}' (${need.type})`);
      continue;
    }
    const props: Array<[string, string]> = [];
    if (need.type === 'zfspool') props.push(['pool', need.pool ?? `rpool/${need.id}`]);
    else if (need.type === 'lvmthin') props.push(['thinpool', need.id], ['vgname', 'pve']);
    else if (need.type === 'dir' || need.type === 'nfs' || need.type === 'cifs' || need.type === 'btrfs') {
      props.push(['path', need.path ?? `/mnt/pve/${need.id}`]);
    }
    props.push(['content', need.content.join(',')]);
    entries.push({ type: need.type, id: need.id, props });
    res.added.push(`storage '${need.id}' (${need.type})`);
    changed = true;
  }
  if (changed) writeFileAtomic(cfgPath, serializeStorageCfg(entries));
  for (const t of needs.templates) {
    let rel: string | undefined;
    if (t.startsWith('/')) rel = t;
    else {
      const m = /^([^:]+):(vztmpl|iso|import)\/(.+)$/.exec(t);
      const s = m && entries.find((e) => e.id === m[1]);
      if (!m || !s) {
        res.missing.push(`template ${t} (storage not found)`);
        continue;
      }
      const base = isPathStorage(s) ? storagePath(s) : undefined;
      if (!base) {
        res.missing.push(`template ${t} (storage '${s.id}' holds no files)`);
        continue;
      }
      const sub = { vztmpl: 'template/cache', iso: 'template/iso', import: 'import' }[m[2] as 'vztmpl'];
      rel = join(base, sub, m[3]!);
    }
    const p = join(root, rel);
    if (existsSync(p)) continue;
    if (strict) {
      res.missing.push(`template ${t}`);
      continue;
    }
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, placeholder(t));
    res.added.push(`template ${t}`);
  }
  void storageProp;
  void readJson;
  return res;
}
