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
  const cached = sharedStamps(description, vmid);
  return { by: cached.by, targets: { ...cached.targets } };
}

/**
 * The same, without a copy: one frozen set per (guest, description). Every target of a guest
 * asks (a no-op of a large fleet parsed each block ~9 times, then copied it as often).
 */
export function sharedStamps(description: string, vmid: Vmid): Readonly<StampSet> {
  // Keyed by guest, checked against the description: the same string object each time (the
  // guest's state), so the check costs nothing, where hashing a `vmid + description` key cost a
  // pass over each ~1 KB description per target.
  const cached = parsed.get(vmid);
  if (cached && cached.description === description) return cached.set;
  const set = parseStamps(description, vmid);
  Object.freeze(set.targets);
  parsed.set(vmid, { description, set: Object.freeze(set) });
  return set;
}

const parsed = new Map<Vmid, { description: string; set: StampSet }>();

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

/**
 * Stamps of finished steps not yet written, per guest. A guest's consecutive steps share one
 * description write instead of one each; only fingerprints of steps that succeeded are ever
 * added, so a batch can lose a stamp (its work is redone) but never claim work not done. The
 * scheduler decides when to write (before another guest relies on this one, before a template
 * conversion, when no step of the guest follows at once, at the end).
 */
export class StampBatch {
  private readonly pending = new Map<Vmid, Record<string, string>>();
  constructor(private readonly write: (vmid: Vmid, entries: Record<string, string>) => Promise<void>) {}

  add(vmid: Vmid, name: string, fp: string): void {
    this.pending.set(vmid, { ...this.pending.get(vmid), [name]: fp });
  }

  /** Forgets a stamp (its step failed after all). */
  drop(vmid: Vmid, name: string): void {
    delete this.pending.get(vmid)?.[name];
  }

  /** Guests with stamps waiting, with their target names. */
  waiting(): Array<[Vmid, string[]]> {
    return [...this.pending].filter(([, e]) => Object.keys(e).length).map(([v, e]) => [v, Object.keys(e)]);
  }

  /** Writes the guest's waiting stamps (one host call, none when nothing waits). */
  async flush(vmid: Vmid): Promise<void> {
    const entries = this.pending.get(vmid);
    this.pending.delete(vmid);
    if (entries && Object.keys(entries).length) await this.write(vmid, entries);
  }
}
