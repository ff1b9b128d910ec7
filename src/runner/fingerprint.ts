// The one place a fingerprint is made (wireit's habit): everything that decides whether a
// target's inputs changed is one sorted, canonical record — the declaration slice plus the
// sha256 of each script it runs — and it is hashed here and nowhere else. Two halves are kept
// apart so `explain` can say whether the declaration or a script changed.
import crypto from 'node:crypto';

export interface Fingerprint {
  /** Hash of the declaration slice. */
  decl: string;
  /** Hash of the scripts' contents (by path); '-' when the target runs no script. */
  scripts: string;
}

/** JSON with object keys sorted at every level; `undefined` members dropped, like JSON.stringify. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // Plain loops: every no-op serialises the slice of each of ~9 targets per guest.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i) out += ',';
      out += value[i] === undefined ? 'null' : canonicalJson(value[i]);
    }
    return `${out}]`;
  }
  if (value instanceof Map) return canonicalJson(Object.fromEntries(value));
  const record = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, as `<` does.
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const k of keys) {
    const v = record[k];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

// Many targets share a record (the same feature scripts on every guest of a fleet): hash each
// distinct text once per process. One-shot `crypto.hash` (Node ≥ 20.12) makes no Hash object.
const hashed = new Map<string, string>();
const short = (text: string): string => {
  let h = hashed.get(text);
  if (h === undefined) {
    h = sha256(text).slice(0, 12);
    if (hashed.size > 50_000) hashed.clear();
    hashed.set(text, h);
  }
  return h;
};

export function sha256(content: string | Buffer): string {
  return typeof crypto.hash === 'function'
    ? crypto.hash('sha256', content, 'hex')
    : crypto.createHash('sha256').update(content).digest('hex');
}

/**
 * @param inputs the declaration slice
 * @param scripts script path → sha256 of its content (`missing` when unreadable)
 */
export function fingerprint(inputs: unknown, scripts: Record<string, string>): Fingerprint {
  const names = Object.keys(scripts);
  return {
    decl: short(canonicalJson(inputs)),
    scripts: names.length === 0 ? '-' : short(canonicalJson(scripts)),
  };
}

/** The stamp form: `<decl>.<scripts>`. */
export function formatFingerprint(fp: Fingerprint): string {
  return `${fp.decl}.${fp.scripts}`;
}

export function parseFingerprint(text: string): Fingerprint | undefined {
  const m = /^([0-9a-f]{12})\.([0-9a-f]{12}|-)$/.exec(text);
  return m ? { decl: m[1]!, scripts: m[2]! } : undefined;
}
