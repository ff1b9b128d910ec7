// Proxmox's `parse_size`/`format_size` (pve-common JSONSchema.pm) for `size=8G` and friends.

const UNIT: Record<string, number> = {
  K: 1024,
  KiB: 1024,
  M: 1024 ** 2,
  MiB: 1024 ** 2,
  G: 1024 ** 3,
  GiB: 1024 ** 3,
  T: 1024 ** 4,
  TiB: 1024 ** 4,
};

/** `8G` → 8589934592; a bare number is bytes; `undefined` when it is not a size. */
export function parseSize(value: string): number | undefined {
  const m = /^(\d+(\.\d+)?)([KMGT](?:iB)?)?$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]) * (m[3] ? (UNIT[m[3]] ?? 1) : 1);
  return Math.trunc(n);
}

/** Bytes → the largest whole unit: 8589934592 → `8G`, 10737418240+1 → bytes as a number string. */
export function formatSize(bytes: number): string {
  const size = Math.trunc(bytes);
  const kb = Math.trunc(size / 1024);
  if (kb * 1024 !== size) return String(size);
  const mb = Math.trunc(kb / 1024);
  if (mb * 1024 !== kb) return `${kb}K`;
  const gb = Math.trunc(mb / 1024);
  if (gb * 1024 !== mb) return `${mb}M`;
  const tb = Math.trunc(gb / 1024);
  if (tb * 1024 !== gb) return `${gb}G`;
  return `${tb}T`;
}

export const GiB = 1024 ** 3;
