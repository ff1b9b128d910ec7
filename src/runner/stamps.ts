// Stamps: the fingerprint of each target's last successful run, kept with the guest on the host
// in a marked block of its description (Proxmox "Notes"), so two checkouts see the same truth
// and a destroyed guest takes its stamps with it. The user's own notes around the block are
// never touched. A damaged block reads as "no stamps", never as an error.
import { createHash } from 'node:crypto';
import type { Config, Guest, Vmid } from '../dsl/model.js';
import { canonicalJson } from './fingerprint.js';

export const STAMP_BEGIN = 'phoenix:stamps v1';
export const STAMP_END = 'phoenix:end';

export interface StampSet {
  /** The guest that wrote the block; differs from the reader for a clone (inherited stamps). */
  by: Vmid | undefined;
  /** Target name (`config`, `feature:docker`) → fingerprint (`<decl>.<scripts>`). */
  targets: Record<string, string>;
}

export const noStamps = (): StampSet => ({ by: undefined, targets: {} });

/** Targets whose work a clone keeps from its source: what ran inside the guest's file system. */
export function inheritable(name: string): boolean {
  return name.startsWith('feature:') || name === 'app';
}

/**
 * Whether the stamp of target `name` still holds in a clone made from a snapshot taken `after`
 * that stage (`--snapname`): the clone holds the source as the snapshot does, not what the source
 * ran after it. Without a snapshot (`after` undefined) the clone copies the source as it is now.
 */
export function heldAtSnapshot(name: string, after: 'config' | 'features' | 'app' | undefined): boolean {
  if (after === undefined || after === 'app') return true;
  if (name === 'app') return false;
  return after === 'features' || !(name.startsWith('feature:') || name === 'volumes');
}

/** The stage after which the snapshot a clone is made from was taken (undefined: no snapshot). */
export function cloneSnapshotStage(config: Config, g: Guest): 'config' | 'features' | 'app' | undefined {
  if (g.cloneFrom === undefined || g.cloneSnapshot === undefined) return undefined;
  return config.guests.get(g.cloneFrom)?.snapshots.find((s) => s.name === g.cloneSnapshot)?.after;
}

/** Splits a description into the user's notes and the stamp block. */
export function splitDescription(description: string): { notes: string; block: string | undefined } {
  const lines = description.split('\n');
  const begin = lines.indexOf(STAMP_BEGIN);
  if (begin < 0) return { notes: description, block: undefined };
  const endRel = lines.slice(begin).indexOf(STAMP_END);
  const end = endRel < 0 ? lines.length - 1 : begin + endRel;
  const notes = [...lines.slice(0, begin), ...lines.slice(end + 1)].join('\n').replace(/\n+$/, '');
  return { notes, block: lines.slice(begin + 1, endRel < 0 ? lines.length : end).join('\n') };
}

/**
 * Reads the stamps a guest carries. Stamps written by another guest (inherited through a clone)
 * keep only the work done inside the file system; the rest describes the source, not this guest.
 */
export function readStamps(description: string, vmid: Vmid): StampSet {
  // Every target of a guest asks again (a no-op of a large fleet parsed each block ~9 times):
  // parse once per (guest, description), hand out copies (callers add predicted stamps).
  const key = `${vmid}\u0000${description}`;
  let cached = parsed.get(key);
  if (!cached) {
    cached = parseStamps(description, vmid);
    if (parsed.size > 10_000) parsed.clear();
    parsed.set(key, cached);
  }
  return { by: cached.by, targets: { ...cached.targets } };
}

const parsed = new Map<string, StampSet>();

function parseStamps(description: string, vmid: Vmid): StampSet {
  const { block } = splitDescription(description);
  if (block === undefined) return noStamps();
  try {
    const data = JSON.parse(block) as { by?: unknown; t?: unknown };
    if (typeof data !== 'object' || data === null || typeof data.t !== 'object' || data.t === null) {
      return noStamps();
    }
    const by = typeof data.by === 'number' ? data.by : undefined;
    const targets: Record<string, string> = {};
    for (const [name, fp] of Object.entries(data.t as Record<string, unknown>)) {
      if (typeof fp !== 'string') continue;
      if (by !== vmid && !inheritable(name)) continue;
      targets[name] = fp;
    }
    return { by, targets };
  } catch {
    return noStamps();
  }
}

/** The full description: the user's notes, then the block. */
export function writeStamps(notes: string, vmid: Vmid, targets: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(targets).sort(([a], [b]) => (a < b ? -1 : 1)));
  const block = [STAMP_BEGIN, JSON.stringify({ by: vmid, t: sorted }), STAMP_END].join('\n');
  return notes.trim() === '' ? block : `${notes.replace(/\n+$/, '')}\n${block}`;
}

/**
 * What a clone records of its source at birth (stamp `source`): a hash of the source's creation
 * and provisioning stamps. When the source is rebuilt, the identity changes.
 */
export function sourceIdentity(sourceDescription: string, sourceVmid: Vmid): string {
  const { targets } = readStamps(sourceDescription, sourceVmid);
  const built = Object.fromEntries(Object.entries(targets).filter(([n]) => n === 'exists' || inheritable(n)));
  return createHash('sha256').update(canonicalJson(built)).digest('hex').slice(0, 12);
}
