// Small pure translations of legacy LXC values whose syntax drifted: GPU lists, Proxmox feature
// strings, raw `lxc.*` lines, OS template locations.

import type { LxcFeatures } from '../../src/dsl/model.js';

/** `"none"`, `"0"`, `"0,1"`, `"0, 1"` → GPU indexes; undefined when unparseable. */
export function parseGpus(value: string): number[] | undefined {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'none') return [];
  const parts = v.split(',').map((p) => p.trim());
  if (!parts.every((p) => /^\d+$/.test(p))) return undefined;
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}

export interface PveFeatureParse {
  features: LxcFeatures;
  /** Items not understood (kept for the report). */
  unknown: string[];
}

/** `nesting=1,keyctl=1` or `["nesting=1", "mount=nfs;cifs"]` → Proxmox LXC features. */
export function parsePveFeatures(items: string[]): PveFeatureParse {
  const features: LxcFeatures = {};
  const unknown: string[] = [];
  for (const item of items.flatMap((i) => i.split(',')).map((i) => i.trim())) {
    if (!item) continue;
    const m = /^([a-z_]+)\s*[=:]\s*(.*)$/.exec(item);
    const key = m?.[1] ?? item;
    const val = m ? (m[2] ?? '') : '1';
    if (key === 'nesting' || key === 'keyctl' || key === 'fuse' || key === 'mknod') {
      if (val === '1' || val === '0') features[key] = val === '1';
      else unknown.push(item);
    } else if (key === 'mount') {
      features.mount = val.split(';').filter(Boolean);
    } else {
      unknown.push(item);
    }
  }
  return { features, unknown };
}

export interface RawLxcLine {
  key: string;
  value: string;
  /** The line as written in the legacy config. */
  original: string;
}

/** `lxc.key=value`, `lxc.key: value`, `lxc.key:value` → key and value; undefined if not `lxc.*`. */
export function parseRawLxc(line: string): RawLxcLine | undefined {
  const m = /^\s*(lxc\.[A-Za-z0-9_.]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
  if (!m) return undefined;
  return { key: m[1] ?? '', value: m[2] ?? '', original: line };
}

/** Proxmox's `dns-name` format (pve-common): dot-separated labels of letters, digits and inner hyphens. */
export function isValidDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

/** A hostname Proxmox accepts, as close to the original as possible. */
export function sanitizeDnsName(name: string): string {
  const labels = name
    .split('.')
    .map((l) =>
      l
        .replace(/[^A-Za-z0-9-]/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 63)
        .replace(/-+$/, ''),
    )
    .filter(Boolean);
  return labels.join('.') || 'guest';
}

/** Proxmox snapshot names: a letter, then letters, digits, `_` or `-` (pve-container's `pve-configid`). */
export function isValidSnapshotName(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_-]{1,39}$/.test(name) && !['current', 'vzdump', 'pending'].includes(name);
}

export function sanitizeSnapshotName(name: string): string {
  let s = name.replace(/[^A-Za-z0-9_-]/g, '-');
  if (!/^[A-Za-z]/.test(s)) s = `s${s}`;
  if (s.length < 2) s = `${s}-snap`;
  return s.slice(0, 40);
}

export const MAC_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;
