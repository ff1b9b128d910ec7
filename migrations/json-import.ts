// `phoenix import`: the legacy Bash system's JSON configs → a typed phoenix.config.ts.
//
//   read (folder or files, any subset of the three) → convert (pure, with a report of every
//   decision) → emit (ts-morph) → validate the result with the DSL's own rules.
//
// Nothing here writes files: the CLI decides where the text goes, so a refusal writes nothing.

import { convertLegacy } from './legacy/convert.js';
import { emitConfig } from './legacy/emit.js';
import type { ImportedConfig } from './legacy/ir.js';
import { readLegacyInputs } from './legacy/read.js';
import { formatReport, type Report } from './legacy/report.js';
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
  const { config, report, legacyCount } = convertLegacy(read.value);
  const errors = report.errors;
  if (errors.length > 0) {
    const lines = errors.map((e) =>
      e.kind === 'problem' ? `${report.place(e.file, e.path)}: ${e.message}` : '',
    );
    return { ok: false, error: lines.join('\n'), reportText: formatReport(report) };
  }
  const text = await emitConfig(config);
  const invalid = await validateImported(text, config, options.outFile ?? 'phoenix.config.ts');
  if (invalid.length > 0) {
    return {
      ok: false,
      error: invalid.map((m) => `the imported config would be invalid: ${m}`).join('\n'),
      reportText: formatReport(report),
    };
  }
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
