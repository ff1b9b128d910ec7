// The simulated cluster: which nodes share this state folder (/etc/pve/.members, as pmxcfs writes
// it), which are down, how a host path of one node maps into the folder, and which storages are
// shared. One state folder is one cluster; a folder without a node list is the single node `pve`.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { type StorageEntry, storageProp } from '../pve/format/index.js';
import { readText } from './io.js';

/** The node of a single-node folder: its host paths map to the folder itself (every old root). */
export const SINGLE_NODE = 'pve';

/** A node name as pve-cluster accepts it (`pvecm add` / corosync: a DNS label). */
export function validNodeName(name: string): boolean {
  return /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(name);
}

/** The cluster name written to .members when the simulator creates a cluster. */
export const SIM_CLUSTER_NAME = 'phoenix-sim';

/** The address a simulated node has in .members (`remote_node_ip` reads it). */
export function nodeIp(index: number): string {
  return `10.10.10.${index + 1}`;
}

interface Members {
  nodename?: string;
  version?: number;
  cluster?: { name: string; version: number; nodes: number; quorate: number };
  nodelist?: Record<string, { id: number; online: number; ip?: string }>;
}

function membersPath(root: string): string {
  return join(root, 'etc', 'pve', '.members');
}

function readMembers(root: string): Members | undefined {
  const text = readText(membersPath(root));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Members;
  } catch {
    return undefined;
  }
}

/**
 * `.members` as pmxcfs prints it (pve-cluster src/pmxcfs/status.c:305-366): without a cluster only
 * `nodename` and `version`; with one, `cluster` and `nodelist` (`id`, `online`, `ip`). pmxcfs shows
 * each node its own `nodename`; the one file of the simulator names the first node.
 */
export function formatMembers(nodes: readonly string[], down: ReadonlySet<string>, version: number): string {
  if (nodes.length <= 1) return `{\n"nodename": "${nodes[0] ?? SINGLE_NODE}",\n"version": ${version}\n}\n`;
  const online = nodes.filter((n) => !down.has(n)).length;
  const quorate = online * 2 > nodes.length ? 1 : 0;
  const list = nodes
    .map((n, i) => `  "${n}": { "id": ${i + 1}, "online": ${down.has(n) ? 0 : 1}, "ip": "${nodeIp(i)}"}`)
    .join(',\n');
  return (
    `{\n"nodename": "${nodes[0]}",\n"version": ${version},\n` +
    `"cluster": { "name": "${SIM_CLUSTER_NAME}", "version": 1, "nodes": ${nodes.length}, "quorate": ${quorate} },\n` +
    `"nodelist": {\n${list}\n  }\n}\n`
  );
}

/** The cluster's nodes in id order; a folder without .members (made before clusters) is one node. */
export function clusterNodes(root: string, fallback = SINGLE_NODE): string[] {
  const m = readMembers(root);
  if (!m) return [fallback];
  if (m.nodelist) {
    return Object.entries(m.nodelist)
      .sort((a, b) => a[1].id - b[1].id)
      .map(([n]) => n);
  }
  return [m.nodename ?? fallback];
}

/** A folder with more than one node: per-node file systems under fs/<node>/, no links in /etc/pve. */
export function isCluster(root: string): boolean {
  return readMembers(root)?.nodelist !== undefined;
}

export function nodeIpOf(root: string, node: string): string {
  return readMembers(root)?.nodelist?.[node]?.ip ?? node;
}

/** Writes .members for `nodes` with the current down set (version bumped like pmxcfs on a change). */
export function writeMembers(root: string, nodes: readonly string[]): void {
  const version = (readMembers(root)?.version ?? 0) + 1;
  const down = new Set(nodes.filter((n) => isNodeDown(root, n)));
  mkdirSync(join(root, 'etc', 'pve'), { recursive: true });
  writeFileSync(membersPath(root), formatMembers(nodes, down, version));
}

function downPath(root: string, node: string): string {
  return join(root, 'down', node);
}

/** Contract: a node is down while `<root>/down/<node>` exists. */
export function isNodeDown(root: string, node: string): boolean {
  return existsSync(downPath(root, node));
}

/** Epoch ms since which `node` is down, or undefined. */
export function nodeDownSince(root: string, node: string): number | undefined {
  try {
    return statSync(downPath(root, node)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Marks `node` down or up and updates `online` in .members. */
export function setNodeDown(root: string, node: string, down: boolean): void {
  const nodes = clusterNodes(root);
  if (!nodes.includes(node)) throw new Error(`no such cluster node '${node}' (nodes: ${nodes.join(', ')})`);
  if (down) {
    mkdirSync(join(root, 'down'), { recursive: true });
    if (!existsSync(downPath(root, node))) writeFileSync(downPath(root, node), '');
  } else rmSync(downPath(root, node), { force: true });
  writeMembers(root, nodes);
}

/** What ssh prints when the host does not answer (the exit code is 255). */
export function sshNoRoute(host: string): string {
  return `ssh: connect to host ${host} port 22: No route to host`;
}

/** The per-node links pmxcfs shows in /etc/pve (pve-cluster src/pmxcfs/pmxcfs.c:663-687). */
const PVE_LINKS: Record<string, string> = {
  local: '',
  'qemu-server': '/qemu-server',
  lxc: '/lxc',
  openvz: '/openvz',
};

/**
 * Where a host path of `node` lives in the state folder (contract with src/pve/runner.ts):
 * /etc/pve is shared, with `local`, `lxc`, `qemu-server` and `openvz` resolved per node; every
 * other path is `<root>/<path>` on the single node `pve` and `<root>/fs/<node>/<path>` elsewhere.
 */
export function mapHostPath(root: string, node: string, path: string): string {
  const p = posix.resolve('/', path);
  const m = /^\/etc\/pve\/([^/]+)(\/.*)?$/.exec(p);
  if (m && PVE_LINKS[m[1]!] !== undefined) {
    return join(root, 'etc/pve/nodes', node, `${PVE_LINKS[m[1]!]}${m[2] ?? ''}`);
  }
  if (p === '/etc/pve' || p.startsWith('/etc/pve/')) return join(root, p);
  return node === SINGLE_NODE ? join(root, p) : join(root, 'fs', node, p);
}

/**
 * Storages pve-storage treats as shared: `shared 1`, or a type in @SHARED_STORAGE (nfs, cifs,
 * rbd, cephfs, iscsi, ...), which `parse_config` marks shared (pve-storage src/PVE/Storage/Plugin.pm:37-39, 603-605).
 */
export function isSharedStorage(s: StorageEntry): boolean {
  if (storageProp(s, 'shared') === '1') return true;
  return ['iscsi', 'nfs', 'cifs', 'rbd', 'cephfs', 'iscsidirect', 'zfs', 'drbd', 'pbs'].includes(s.type);
}

/** `nodes a,b` of storage.cfg: the nodes a storage is restricted to (none = every node). */
export function storageNodes(s: StorageEntry): string[] | undefined {
  const v = storageProp(s, 'nodes');
  return v ? v.split(/[,;\s]+/).filter(Boolean) : undefined;
}

/** `storage_check_node` (pve-storage src/PVE/Storage.pm:264-278). */
export function storageOnNode(s: StorageEntry, node: string): boolean {
  const nodes = storageNodes(s);
  return !nodes || nodes.includes(node);
}
