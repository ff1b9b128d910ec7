// `/etc/pve/.vmlist`, the read-only file pmxcfs generates from the set of guest config files
// (pve-cluster status.c). Key order is hash order on a real host; we keep insertion order.

export interface VmlistEntry {
  node: string;
  type: 'qemu' | 'lxc' | 'openvz';
  version: number;
}

export interface Vmlist {
  version: number;
  ids: Record<string, VmlistEntry>;
}

/** Exact pmxcfs whitespace: `{\n"version": N,\n"ids": {\n<entries joined by ",\n">}\n\n}\n`. */
export function formatVmlist(list: Vmlist): string {
  const ids = Object.entries(list.ids);
  if (ids.length === 0) return `{\n"version": ${list.version}\n\n}\n`;
  const entries = ids.map(
    ([vmid, e]) => `"${vmid}": { "node": "${e.node}", "type": "${e.type}", "version": ${e.version} }`,
  );
  return `{\n"version": ${list.version},\n"ids": {\n${entries.join(',\n')}}\n\n}\n`;
}

export function parseVmlist(text: string): Vmlist {
  const data = JSON.parse(text) as { version?: number; ids?: Record<string, VmlistEntry> };
  return { version: data.version ?? 0, ids: data.ids ?? {} };
}
