// Typed reads of untrusted data (a JS config, imported JSON): each read either returns a value of
// the right type or records a diagnostic at that path and returns undefined, so one pass reports
// every problem instead of stopping at the first.
import type { Diagnostic } from './diagnostics.js';

export type Obj = Record<string, unknown>;

export const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `"${v}"` : typeof v;

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * Whether one name extends the other at a word boundary (`docker` → `docker_ce`, `memory` →
 * `memoryMb`): what a renamed or qualified name looks like, too far apart for an edit distance.
 */
function extendsName(word: string, option: string): boolean {
  const [short, long] = word.length <= option.length ? [word, option] : [option, word];
  if (short.length < 3 || short.length === long.length) return false;
  const a = short.toLowerCase();
  const b = long.toLowerCase();
  const next = long[short.length]!; // after a prefix: a separator or a new camelCase word
  const before = long[long.length - short.length - 1]!; // before a suffix: a separator
  return (b.startsWith(a) && /[-_.A-Z]/.test(next)) || (b.endsWith(a) && /[-_.]/.test(before));
}

/** The closest of `options` to `word`, if close enough to be a likely typo or a renamed name. */
export function closest(word: string, options: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  let renamed: string | undefined;
  for (const option of options) {
    const score = distance(word, option);
    if (score < bestScore) [best, bestScore] = [option, score];
    if (extendsName(word, option) && (renamed === undefined || option.length < renamed.length))
      renamed = option;
  }
  if (best !== undefined && bestScore <= Math.max(1, Math.floor(word.length / 3))) return best;
  return renamed;
}

export const join = (path: string, key: string | number): string => (path ? `${path}.${key}` : String(key));

const within = (d: Diagnostic, path: string) => d.path === path || d.path.startsWith(`${path}.`);

export class Reader {
  private readonly found: { diagnostic: Diagnostic; follows?: string }[] = [];
  /** Places whose every problem follows from another place (see `follows`). */
  private readonly causes = new Map<string, string>();

  /**
   * Every problem, root causes only: a problem that follows a place with a problem of its own is
   * left out — its message and fix were drawn from a value that is itself wrong (a clone told to
   * keep its template's undeclared storage), and fixing the cause makes it go away or change.
   */
  get diagnostics(): Diagnostic[] {
    const broken = (cause: string | undefined) =>
      cause !== undefined && this.found.some((f) => within(f.diagnostic, cause));
    return this.found
      .filter(({ diagnostic, follows }) => !broken(follows) && !broken(this.causes.get(diagnostic.path)))
      .map((f) => f.diagnostic);
  }

  /** Every problem at `path` follows from `cause` (the same value, inherited or copied from there). */
  follows(path: string, cause: string): void {
    this.causes.set(path, cause);
  }

  /** Whether a problem was already recorded at `path` or below it (to avoid a second, vaguer one). */
  hasProblemAt(path: string): boolean {
    return this.found.some((f) => within(f.diagnostic, path));
  }

  /**
   * Records a problem at `path`. `follows` names the place whose value the problem was judged
   * against (a clone's source field): when that place has a problem too, only that one is reported.
   */
  problem(path: string, message: string, fix?: string, follows?: string): void {
    this.found.push({ diagnostic: fix ? { path, message, fix } : { path, message }, follows });
  }

  /** Flags keys of `obj` that are not in `known`, suggesting the nearest known one. */
  onlyKeys(obj: Obj, path: string, known: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (known.includes(key)) continue;
      const near = closest(key, known);
      const fix = near
        ? `did you mean "${near}"?`
        : `known fields: ${known.join(', ')}; put unmodelled data under meta`;
      // The key is what is wrong, not the value written after it.
      this.found.push({
        diagnostic: { path: join(path, key), message: 'unknown field', fix, underline: 'key' },
      });
    }
  }

  object(obj: Obj, key: string, path: string, required = false): Obj | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (required) this.problem(join(path, key), 'missing', 'add it (an object)');
      return undefined;
    }
    if (!isObject(v)) {
      this.problem(join(path, key), `must be an object, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  string(obj: Obj, key: string, path: string, required = false, fix?: string): string | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (required) this.problem(join(path, key), 'missing', fix ?? 'add it (a string)');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.problem(join(path, key), `must be a string, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  boolean(obj: Obj, key: string, path: string): boolean | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      this.problem(join(path, key), `must be true or false, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  /** An integer (or any number when `integer` is false) within [min, max]. */
  number(
    obj: Obj,
    key: string,
    path: string,
    opts: { min?: number; max?: number; integer?: boolean; required?: boolean; unit?: string } = {},
  ): number | undefined {
    const v = obj[key];
    const where = join(path, key);
    if (v === undefined) {
      if (opts.required)
        this.problem(where, 'missing', `add it (a number${opts.unit ? ` in ${opts.unit}` : ''})`);
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.problem(where, `must be a number, got ${typeof v === 'number' ? String(v) : describe(v)}`);
      return undefined;
    }
    if ((opts.integer ?? true) && !Number.isInteger(v)) {
      this.problem(where, `must be a whole number, got ${v}`);
      return undefined;
    }
    if (opts.min !== undefined && v < opts.min) {
      this.problem(where, `must be at least ${opts.min}, got ${v}`);
      return undefined;
    }
    if (opts.max !== undefined && v > opts.max) {
      this.problem(where, `must be at most ${opts.max}, got ${v}`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(
    obj: Obj,
    key: string,
    path: string,
    options: readonly T[],
    required = false,
  ): T | undefined {
    const v = obj[key];
    if (v === undefined) {
      if (required) this.problem(join(path, key), 'missing', `one of: ${options.join(', ')}`);
      return undefined;
    }
    if (typeof v !== 'string' || !options.includes(v as T)) {
      const near = typeof v === 'string' ? closest(v, options) : undefined;
      this.problem(
        join(path, key),
        `must be one of ${options.map((o) => `"${o}"`).join(', ')}, got ${describe(v)}`,
        near ? `did you mean "${near}"?` : undefined,
      );
      return undefined;
    }
    return v as T;
  }

  array(obj: Obj, key: string, path: string): unknown[] | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.problem(join(path, key), `must be an array, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  /** An array whose items pass `item`; invalid items are dropped (and reported by `item`). */
  list<T>(
    obj: Obj,
    key: string,
    path: string,
    item: (v: unknown, path: string) => T | undefined,
  ): T[] | undefined {
    const arr = this.array(obj, key, path);
    if (!arr) return undefined;
    const out: T[] = [];
    arr.forEach((v, i) => {
      const r = item(v, join(join(path, key), i));
      if (r !== undefined) out.push(r);
    });
    return out;
  }

  stringItem = (v: unknown, path: string): string | undefined => {
    if (typeof v === 'string') return v;
    this.problem(path, `must be a string, got ${describe(v)}`);
    return undefined;
  };

  objectItem = (v: unknown, path: string): Obj | undefined => {
    if (isObject(v)) return v;
    this.problem(path, `must be an object, got ${describe(v)}`);
    return undefined;
  };

  /** A plain record of unknown data (`meta`). */
  record(obj: Obj, key: string, path: string): Record<string, unknown> | undefined {
    return this.object(obj, key, path);
  }
}
