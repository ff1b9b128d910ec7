// `phoenix import`: the legacy Bash system's JSON configs → a typed phoenix.config.ts.
//
//   read (folder or files, any subset of the three) → convert (pure, with a report of every
//   decision) → emit (ts-morph) → validate the result with the DSL's own rules.
//
// Nothing here writes files: the CLI decides where the text goes, so a refusal writes nothing.

import { convertLegacy, type Excluded, entryKey } from './legacy/convert.js';
import { emitConfig } from './legacy/emit.js';
import type { ImportedConfig } from './legacy/ir.js';
import { readLegacyInputs } from './legacy/read.js';
import { type Entry, formatReport, type Report } from './legacy/report.js';
import { validateImported } from './legacy/validate.js';

export interface ImportSuccess {
  ok: true;
  /** The text of phoenix.config.ts. */
  text: string;
  config: ImportedConfig;
  report: Report;
  reportText: string;
  guestCount: number;
  legacyCount: number;
  /** Script paths the config names (relative to the config file). */
  scripts: string[];
  /** The legacy installation's `bin/`, when a whole installation was given. */
  bin?: string;
}

export interface ImportFailure {
  ok: false;
  /** Why nothing was written, one problem per line, each with its place. */
  error: string;
  reportText?: string;
}

export type ImportResult = ImportSuccess | ImportFailure;

export interface ImportOptions {
  /** Path the config will be written to (shown in validation messages). */
  outFile?: string;
}

export async function importLegacy(paths: string[], options: ImportOptions = {}): Promise<ImportResult> {
  const read = readLegacyInputs(paths);
  if (!read.ok) return { ok: false, error: read.error };
  if (!read.value.lxc && !read.value.vm && !read.value.hypervisor) {
    return { ok: false, error: 'no legacy config among the inputs' };
  }
  // One broken guest never refuses the fleet: a guest whose entry has an error is left out
  // (printed commented out with its reason) and the rest converted again, until nothing is left
  // to leave out. Only errors outside any guest (the file's shape) refuse the import.
  const exclude: Excluded = new Map();
  for (;;) {
    const { config, report, legacyCount } = convertLegacy(read.value, exclude);
    const fleet = report.errors.filter((e) => e.kind === 'problem' && guestEntry(e.path) === undefined);
    if (fleet.length > 0) {
      const lines = fleet.map((e) =>
        e.kind === 'problem' ? `${report.place(e.file, e.path)}: ${e.message}` : '',
      );
      return { ok: false, error: lines.join('\n'), reportText: formatReport(report) };
    }
    const before = exclude.size;
    if (leaveOut(exclude, report.errors, (e) => (e.kind === 'problem' ? report.place(e.file, e.path) : ''))) {
      if (exclude.size > before) continue;
      const lines = report.errors.map((e) =>
        e.kind === 'problem' ? `${report.place(e.file, e.path)}: ${e.message}` : '',
      );
      return { ok: false, error: lines.join('\n'), reportText: formatReport(report) };
    }
    const text = await emitConfig(config);
    const invalid = await validateImported(text, config, options.outFile ?? 'phoenix.config.ts');
    const byGuest = invalid.map((m) => ({
      m,
      g: config.guests.find((g) => m.startsWith(`guests.${g.vmid}.`) || m.startsWith(`guests.${g.vmid}:`)),
    }));
    if (byGuest.some((x) => !x.g)) {
      return {
        ok: false,
        error: invalid.map((m) => `the imported config would be invalid: ${m}`).join('\n'),
        reportText: formatReport(report),
      };
    }
    if (byGuest.length > 0) {
      for (const { m, g } of byGuest)
        addReason(exclude, g!.file, g!.path, `the config would be invalid: ${m}`);
      continue;
    }
    for (const c of config.commented ?? []) {
      report.warn(
        c.file,
        c.path,
        `not imported, left commented out at the end of guests: ${c.reasons.join('; ')}`,
      );
    }
    listGuests(report, config);
    const ok = done(text, config, report, legacyCount);
    return read.value.bin ? { ...ok, bin: read.value.bin } : ok;
  }
}

/** `lxc_configs.103` / `vms[2]` when a report path lies inside one legacy guest entry. */
function guestEntry(path: string): string | undefined {
  return /^(lxc_configs\.[^.[]+|vms\[\d+\])/.exec(path)?.[1];
}

function addReason(exclude: Excluded, file: string, path: string, reason: string): void {
  const key = entryKey(file, path);
  exclude.set(key, [...(exclude.get(key) ?? []), reason]);
}

/** Adds the guests with errors to `exclude`; true when there were any. */
function leaveOut(exclude: Excluded, errors: Entry[], place: (e: Entry) => string): boolean {
  let any = false;
  for (const e of errors) {
    if (e.kind !== 'problem') continue;
    const entry = guestEntry(e.path);
    if (entry === undefined) continue;
    addReason(exclude, e.file, entry, `${place(e)}: ${e.message}`);
    any = true;
  }
  return any;
}

/** The report's last section: every guest, and what was guessed or changed for it. */
function listGuests(report: Report, config: ImportedConfig): void {
  for (const g of config.guests) {
    const notes = report.entries
      .filter(
        (e) =>
          e.kind === 'problem' &&
          e.file === g.file &&
          (e.path === g.path || e.path.startsWith(`${g.path}.`) || e.path.startsWith(`${g.path}[`)),
      )
      .map((e) => (e.kind === 'problem' ? e.message : ''));
    const inGuest = (p: string) => p === g.path || p.startsWith(`${g.path}.`) || p.startsWith(`${g.path}[`);
    for (const c of report.changes)
      if (c.file === g.file && inGuest(c.path)) notes.push(`first build: ${c.text}`);
    report.guest(
      g.vmid,
      `${g.kind} ${String(g.fields.name ?? '')}`.trim(),
      notes.length ? notes : ['as declared'],
    );
  }
  for (const c of config.commented ?? [])
    report.guest(c.vmid ?? 0, c.path, [`NOT IMPORTED (commented out): ${c.reasons.join('; ')}`]);
}

function done(text: string, config: ImportedConfig, report: Report, legacyCount: number): ImportSuccess {
  const scripts = new Set<string>();
  for (const f of config.features.values()) scripts.add(f.script);
  for (const g of config.guests) {
    const app = g.fields.app as { script?: string } | undefined;
    if (app?.script) scripts.add(app.script);
  }
  return {
    ok: true,
    text,
    config,
    report,
    reportText: formatReport(report),
    guestCount: config.guests.length,
    legacyCount,
    scripts: [...scripts].sort(),
  };
}
