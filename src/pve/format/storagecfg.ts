// `/etc/pve/storage.cfg` (pve-common SectionConfig): `<type>: <id>` headers followed by
// tab-indented `key value` lines (a bare `key` is a flag set to 1), sections separated by a blank line.

export interface StorageEntry {
  type: string;
  id: string;
  /** Properties in file order; a bare flag (e.g. `sparse`) has value `''`. */
  props: Array<[string, string]>;
}

export function parseStorageCfg(text: string): StorageEntry[] {
  const out: StorageEntry[] = [];
  let cur: StorageEntry | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*(#.*)?$/.test(line)) {
      if (/^\s*$/.test(line)) cur = undefined;
      continue;
    }
    const head = /^(\S+):\s*(\S+)\s*$/.exec(line);
    if (head && !/^\s/.test(line)) {
      cur = { type: head[1]!, id: head[2]!, props: [] };
      out.push(cur);
      continue;
    }
    const kv = /^\s+(\S+)(?:\s+(.*?))?\s*$/.exec(line);
    if (kv && cur) cur.props.push([kv[1]!, kv[2] ?? '']);
  }
  return out;
}

export function serializeStorageCfg(entries: StorageEntry[]): string {
  return entries
    .map(
      (e) =>
        `${e.type}: ${e.id}\n${e.props.map(([k, v]) => (v === '' ? `\t${k}\n` : `\t${k} ${v}\n`)).join('')}`,
    )
    .join('\n');
}

export function storageProp(entry: StorageEntry, key: string): string | undefined {
  const hit = entry.props.find(([k]) => k === key);
  if (!hit) return undefined;
  return hit[1] === '' ? '1' : hit[1];
}

/** The `content` list (`images,rootdir` → ['images','rootdir']). */
export function storageContent(entry: StorageEntry): string[] {
  return (storageProp(entry, 'content') ?? '').split(',').filter((s) => s !== '');
}
