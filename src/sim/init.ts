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
import { dirname, join, relative } from 'node:path';
import {
  parseStorageCfg,
  type StorageEntry,
  serializeStorageCfg,
  storageContent,
} from '../pve/format/index.js';
import {
  clusterNodes,
  isNodeDown,
  isSharedStorage,
  mapHostPath,
  SINGLE_NODE,
  setNodeDown,
  storageOnNode,
  validNodeName,
  writeMembers,
} from './cluster.js';
import { simEnv } from './env.js';
import { SimHost } from './host.js';
import { processOut, readText, writeFileAtomic } from './io.js';
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

/**
 * A storage every simulated cluster (more than one node) adds: Ceph RBD, shared by type
 * (pve-storage src/PVE/Storage/Plugin.pm:37-39), with linked clones for CTs and VMs, so a template
 * on it can be cloned to another node with `--target`.
 */
const CLUSTER_STORAGE_CFG = `
rbd: ceph-vm
\tcontent images,rootdir
\tkrbd 1
\tpool ceph-vm
`;

/** Placeholder content for template/image files: the simulator never reads them. */
const placeholder = (name: string): string => `phoenix simulator placeholder for ${name}\n`;

export function isInitialized(root: string): boolean {
  return existsSync(join(root, 'etc', 'pve', 'storage.cfg'));
}

function nodeList(nodes: string | readonly string[]): string[] {
  const list = typeof nodes === 'string' ? [nodes] : [...nodes];
  if (list.length === 0) throw new Error('a simulated cluster needs at least one node');
  for (const n of list) {
    if (!validNodeName(n)) throw new Error(`invalid node name '${n}' (letters, digits and '-', at most 63)`);
  }
  if (new Set(list).size !== list.length) throw new Error(`duplicate node name in ${list.join(', ')}`);
  return list;
}

/**
 * Creates the simulated host in `root` (idempotent: existing files are kept) with one node or a
 * cluster of `nodes` sharing one /etc/pve. Nodes missing from an existing folder are added (as
 * `pvecm add` does); none is removed. Returns what it created (paths relative to `root`).
 */
export function initSimHost(root: string, nodes: string | readonly string[] = SINGLE_NODE): string[] {
  const wanted = nodeList(nodes);
  const existing = isInitialized(root) ? clusterNodes(root) : [];
  const all = [...existing, ...wanted.filter((n) => !existing.includes(n))];
  const created: string[] = [];
  const put = (abs: string, text: string): void => {
    if (existsSync(abs)) return;
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    created.push(relative(root, abs));
  };
  for (const d of ['etc/pve/firewall', 'sim/guests', 'sim/volumes'])
    mkdirSync(join(root, d), { recursive: true });
  for (const node of all) {
    mkdirSync(join(root, `etc/pve/nodes/${node}/lxc`), { recursive: true });
    mkdirSync(join(root, `etc/pve/nodes/${node}/qemu-server`), { recursive: true });
  }
  const clusterNow = all.length > 1;
  if (!existsSync(join(root, 'etc/pve/.members')) || all.length !== existing.length) writeMembers(root, all);
  if (clusterNow) removePveLinks(root);
  else ensurePveLinks(root, all[0]!);
  put(join(root, 'etc/pve/storage.cfg'), STORAGE_CFG + (clusterNow ? CLUSTER_STORAGE_CFG : ''));
  if (clusterNow) addClusterStorage(root);
  for (const node of all) {
    const at = (p: string): string => mapHostPath(root, node, p);
    put(at('/etc/subuid'), 'root:100000:65536\n');
    put(at('/etc/subgid'), 'root:100000:65536\n');
    put(at('/etc/hostname'), `${node}\n`);
    put(at(`/var/lib/vz/template/cache/${DEFAULT_TEMPLATE}`), placeholder(DEFAULT_TEMPLATE));
    put(at(`/var/lib/vz/import/${DEFAULT_CLOUD_IMAGE}`), placeholder(DEFAULT_CLOUD_IMAGE));
    for (const d of ['/var/lib/vz/template/iso', '/var/lib/vz/snippets', '/var/lib/vz/dump'])
      mkdirSync(at(d), { recursive: true });
  }
  // `fastData-shared-iso` is `shared 1`: one folder for every node.
  put(join(root, `fastData/shared-iso/template/cache/${DEFAULT_TEMPLATE}`), placeholder(DEFAULT_TEMPLATE));
  const host = new SimHost({ ...simEnv({}), root, node: all[0]! }, processOut);
  host.refreshVmlist();
  return created;
}

/** A cluster of `nodes` in `root` (contract for `--sim` with a config declaring `nodes`). */
export function initSimCluster(root: string, nodes: readonly string[]): string[] {
  return initSimHost(root, nodes);
}

/** The nodes of the simulated cluster in `root` (`['pve']` for a folder made before clusters). */
export function simNodes(root: string): string[] {
  return clusterNodes(root);
}

/** `phoenix sim node down|up`: the node stops answering (ssh: No route to host) or comes back. */
export function setSimNodeDown(root: string, node: string, down: boolean): void {
  setNodeDown(root, node, down);
}

export function isSimNodeDown(root: string, node: string): boolean {
  return isNodeDown(root, node);
}

/** A folder that became a cluster gets the shared RBD storage if storage.cfg lacks it. */
function addClusterStorage(root: string): void {
  const cfgPath = join(root, 'etc', 'pve', 'storage.cfg');
  const entries = parseStorageCfg(readText(cfgPath) ?? '');
  if (entries.some((e) => e.id === 'ceph-vm')) return;
  writeFileAtomic(cfgPath, serializeStorageCfg([...entries, ...parseStorageCfg(CLUSTER_STORAGE_CFG)]));
}

const PVE_LINK_NAMES = ['local', 'qemu-server', 'openvz', 'lxc'] as const;

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

/**
 * In a cluster each node sees its own links, so one folder cannot hold them: the simulator
 * resolves them per node (cluster.ts `mapHostPath`) and the folder has none.
 */
function removePveLinks(root: string): void {
  for (const name of PVE_LINK_NAMES) {
    const p = join(root, 'etc/pve', name);
    try {
      readlinkSync(p);
      rmSync(p, { force: true });
    } catch {
      // not a link: nothing to remove
    }
  }
}

/** Deletes everything in `root` (guests, volumes, call log) and initializes it again with the same nodes. */
export function resetSimHost(root: string, nodes?: string | readonly string[]): void {
  const keep = nodes ?? (isInitialized(root) ? clusterNodes(root) : SINGLE_NODE);
  if (existsSync(root)) {
    for (const entry of readdirSync(root)) rmSync(join(root, entry), { recursive: true, force: true });
  }
  initSimHost(root, keep);
}

export interface SimSummary {
  root: string;
  node: string;
  /** Every node of the cluster and whether it is down. */
  nodes: Array<{ node: string; down: boolean }>;
  storages: Array<{ id: string; type: string; content: string[] }>;
  guests: Array<{
    vmid: number;
    kind: string;
    /** The guest's node (clusters only). */
    node?: string;
    name: string;
    status: string;
    lock?: string;
    template: boolean;
  }>;
  calls: number;
}

/** What `phoenix sim show` prints. */
export function showSimHost(root: string, node?: string): SimSummary {
  const nodes = clusterNodes(root, node);
  const host = new SimHost({ ...simEnv({}), root, node: node ?? nodes[0]! }, processOut);
  const guests = host.listGuests().map((g) => {
    const sec = host.onNode(g.node).loadConf(g.kind, g.vmid).main;
    const out: SimSummary['guests'][number] = {
      vmid: g.vmid,
      kind: g.kind,
      ...(nodes.length > 1 ? { node: g.node } : {}),
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
    node: host.node,
    nodes: nodes.map((n) => ({ node: n, down: isNodeDown(root, n) })),
    storages: host.allStorages().map((s) => ({ id: s.id, type: s.type, content: storageContent(s) })),
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
  /** `shared 1` in storage.cfg. */
  shared?: boolean;
  /** `nodes a,b` in storage.cfg: the nodes that have the storage (default every node). */
  nodes?: string[];
}

export interface SimNeeds {
  storages: StorageNeed[];
  /** OS templates / images as volids (`local:vztmpl/x.tar.zst`, `local:import/x.img`) or absolute paths. */
  templates: string[];
  /** The cluster's nodes (default: the single node `pve`). */
  nodes?: string[];
}

export interface EnsureResult {
  /** What was added, one human-readable line each (e.g. `storage 'tank' (zfspool)`). */
  added: string[];
  /** In strict mode: what the host lacks (nothing is added; the commands will fail as on a real host). */
  missing: string[];
}

/**
 * Makes the simulated host hold what a config references: its nodes, missing storages
 * (storage.cfg) and template/image files (on every node that has a local storage, once on a
 * shared one), or in strict mode only reports them. Initializes `root` if needed.
 */
export function ensureSimHost(root: string, needs: SimNeeds, strict: boolean): EnsureResult {
  const res: EnsureResult = { added: [], missing: [] };
  if (!isInitialized(root)) initSimHost(root, needs.nodes?.length ? needs.nodes : SINGLE_NODE);
  else if (needs.nodes?.length) {
    const have = clusterNodes(root);
    const lacking = needs.nodes.filter((n) => !have.includes(n));
    if (lacking.length && strict) res.missing.push(...lacking.map((n) => `node '${n}'`));
    else if (lacking.length) {
      initSimHost(root, needs.nodes);
      res.added.push(...lacking.map((n) => `node '${n}'`));
    }
  }
  const nodes = clusterNodes(root);
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
    else if (need.type === 'rbd') props.push(['pool', need.pool ?? need.id]);
    else if (need.type === 'dir' || need.type === 'nfs' || need.type === 'cifs' || need.type === 'btrfs') {
      props.push(['path', need.path ?? `/mnt/pve/${need.id}`]);
    }
    props.push(['content', need.content.join(',')]);
    if (need.nodes?.length) props.push(['nodes', need.nodes.join(',')]);
    if (need.shared) props.push(['shared', '1']);
    entries.push({ type: need.type, id: need.id, props });
    res.added.push(`storage '${need.id}' (${need.type})`);
    changed = true;
  }
  if (changed) writeFileAtomic(cfgPath, serializeStorageCfg(entries));
  for (const t of needs.templates) {
    let files: Array<{ abs: string; node?: string }>;
    if (t.startsWith('/')) files = nodes.map((n) => ({ abs: mapHostPath(root, n, t), node: n }));
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
      const rel = join(base, sub, m[3]!);
      files = isSharedStorage(s)
        ? [{ abs: join(root, rel) }]
        : nodes.filter((n) => storageOnNode(s, n)).map((n) => ({ abs: mapHostPath(root, n, rel), node: n }));
    }
    for (const f of files) {
      if (existsSync(f.abs)) continue;
      const where = f.node && nodes.length > 1 ? ` on node '${f.node}'` : '';
      if (strict) {
        res.missing.push(`template ${t}${where}`);
        continue;
      }
      mkdirSync(dirname(f.abs), { recursive: true });
      writeFileSync(f.abs, placeholder(t));
      res.added.push(`template ${t}${where}`);
    }
  }
  return res;
}
