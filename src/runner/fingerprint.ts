// The one place a fingerprint is made (wireit's habit): everything that decides whether a
// target's inputs changed is one sorted, canonical record — the declaration slice plus the
// sha256 of each script it runs — and it is hashed here and nowhere else. Two halves are kept
// apart so `explain` can say whether the declaration or a script changed.
import { createHash } from 'node:crypto';

export interface Fingerprint {
  /** Hash of the declaration slice. */
  decl: string;
  /** Hash of the scripts' contents (by path); '-' when the target runs no script. */
  scripts: string;
}

/** JSON with object keys sorted at every level; `undefined` members dropped, like JSON.stringify. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value instanceof Map) return canonicalJson(Object.fromEntries(value));
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const short = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
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
