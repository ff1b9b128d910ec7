// The import report: every legacy field ends up in exactly one of these buckets, so a user can
// see that nothing was dropped silently. Entries carry their place (`file: path`) and a generic
// field name used to group them when printed (`lxc_configs.*.memory_mb`).

import { basename } from 'node:path';
import type { JsonSource } from './json-source.js';

export type Entry =
  | { kind: 'mapped'; file: string; path: string; field: string; to: string; note?: string }
  | { kind: 'meta'; file: string; path: string; field: string; note?: string }
  | { kind: 'dropped'; file: string; path: string; field: string; reason: string }
  | { kind: 'problem'; severity: 'warning' | 'error'; file: string; path: string; message: string };

export class Report {
  readonly entries: Entry[] = [];

  constructor(private readonly sources: Map<string, JsonSource>) {}

  mapped(file: string, path: string, field: string, to: string, note?: string): void {
    this.entries.push({ kind: 'mapped', file, path, field, to, ...(note ? { note } : {}) });
  }
  meta(file: string, path: string, field: string, note?: string): void {
    this.entries.push({ kind: 'meta', file, path, field, ...(note ? { note } : {}) });
  }
  dropped(file: string, path: string, field: string, reason: string): void {
    this.entries.push({ kind: 'dropped', file, path, field, reason });
  }
  warn(file: string, path: string, message: string): void {
    this.entries.push({ kind: 'problem', severity: 'warning', file, path, message });
  }
  error(file: string, path: string, message: string): void {
    this.entries.push({ kind: 'problem', severity: 'error', file, path, message });
  }

  /**
   * Where the legacy tool's real effect on a host differed from what its JSON declares: what the
   * first Phoenix build will change on a host the legacy tool built, and why.
   */
  readonly changes: { file: string; path: string; text: string }[] = [];
  change(file: string, path: string, text: string): void {
    this.changes.push({ file, path, text });
  }

  /** One line per guest for the report's last section: what was imported, guessed or changed. */
  readonly guests: { vmid: number; label: string; notes: string[] }[] = [];
  guest(vmid: number, label: string, notes: string[]): void {
    this.guests.push({ vmid, label, notes });
  }

  get errors(): Entry[] {
    return this.entries.filter((e) => e.kind === 'problem' && e.severity === 'error');
  }

  /** `file:line:column: path` when the path has a position, else `file: path`. */
  place(file: string, path: string): string {
    const pos = this.sources.get(file)?.positions.get(path);
    const name = basename(file);
    if (!path) return name;
    return pos ? `${name}:${pos.line}:${pos.column}: ${path}` : `${name}: ${path}`;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Human-readable report, grouped so a 20-guest fleet prints a page, not a book. */
export function formatReport(report: Report): string {
  const out: string[] = [];
  const group = <T extends Entry>(kind: T['kind'], key: (e: T) => string) => {
    const groups = new Map<string, T[]>();
    for (const e of report.entries) {
      if (e.kind !== kind) continue;
      const k = key(e as T);
      const list = groups.get(k) ?? [];
      list.push(e as T);
      groups.set(k, list);
    }
    return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  };
  const where = (list: Entry[]) => {
    // A top-level key's place is its own name: printing it twice says nothing.
    const places = list
      .map((e) => ('path' in e && 'field' in e && e.path !== e.field ? e.path : ''))
      .filter(Boolean);
    if (places.length === 0) return '';
    const shown =
      places.length > 4
        ? `${places.slice(0, 4).join(', ')} and ${places.length - 4} more`
        : places.join(', ');
    return `  [${shown}]`;
  };

  const mapped = group<Extract<Entry, { kind: 'mapped' }>>(
    'mapped',
    (e) => `${basename(e.file)}: ${e.field} → ${e.to}${e.note ? ` (${e.note})` : ''}`,
  );
  out.push(`Mapped to typed fields (${mapped.length}):`);
  for (const [k, list] of mapped) out.push(`  ${k}  [${plural(list.length, 'place')}]`);

  const meta = group<Extract<Entry, { kind: 'meta' }>>(
    'meta',
    (e) => `${basename(e.file)}: ${e.field}${e.note ? ` (${e.note})` : ''}`,
  );
  out.push(`Kept in meta (${meta.length}):`);
  for (const [k, list] of meta) out.push(`  ${k}${where(list)}`);

  const dropped = group<Extract<Entry, { kind: 'dropped' }>>(
    'dropped',
    (e) => `${basename(e.file)}: ${e.field}: ${e.reason}`,
  );
  out.push(`Dropped, with reason (${dropped.length}):`);
  for (const [k, list] of dropped) out.push(`  ${k}${where(list)}`);

  const problems = report.entries.filter((e) => e.kind === 'problem');
  out.push(`Problems (${problems.length}):`);
  for (const e of problems) {
    if (e.kind !== 'problem') continue;
    out.push(`  ${e.severity}: ${report.place(e.file, e.path)}: ${e.message}`);
  }
  if (report.changes.length > 0) {
    out.push(
      `What the first Phoenix build changes on a host the legacy tool built (${report.changes.length}):`,
    );
    for (const c of report.changes) out.push(`  ${report.place(c.file, c.path)}: ${c.text}`);
  }
  if (report.guests.length > 0) {
    out.push(`Guests (${report.guests.length}), with what was guessed or changed:`);
    for (const g of report.guests) {
      out.push(`  ${g.vmid || '?'} ${g.label}:`);
      for (const n of g.notes) out.push(`    - ${n}`);
    }
  }
  return `${out.join('\n')}\n`;
}
