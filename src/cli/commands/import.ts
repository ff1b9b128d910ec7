// `phoenix import <folder or files...> [-o phoenix.config.ts] [--force]`
// Imports the legacy Bash system's JSON configs once; from then on users edit TypeScript.
// Exit codes: 0 written (the report may list warnings), 2 refused (nothing written).

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { importLegacy } from '../../../migrations/json-import.js';
import { projectScripts } from '../../../migrations/legacy/scripts.js';

interface ImportCliOptions {
  output: string;
  force?: boolean;
  stubs: boolean;
  report: boolean;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('Import legacy phoenix_*.json configs into a typed phoenix.config.ts')
    .argument('<paths...>', 'a folder holding the legacy files, or any of the three JSON files')
    .option('-o, --output <file>', 'where to write the config', 'phoenix.config.ts')
    .option('-f, --force', 'overwrite an existing output file')
    .option('--no-stubs', 'do not create stub scripts for features/apps that do not exist yet')
    .option('--no-report', 'print only the summary, not the full report')
    .addHelpText(
      'after',
      [
        '',
        'Reads phoenix_lxc_configs.json, phoenix_vm_configs.json and phoenix_hypervisor_config.json (any',
        'subset, any version of their history) and writes one typed config. The report lists every legacy',
        'field: mapped to a typed field, kept in `meta`, or dropped with its reason, and every problem with',
        'its place (file:line:column: path). Suspicious data is reported and the file is still written;',
        'data that cannot make a valid config is refused. Exit 0 written, 2 refused (nothing written).',
        '',
        'Examples:',
        '  phoenix import ./legacy/etc',
        '  phoenix import phoenix_lxc_configs.json phoenix_hypervisor_config.json -o fleet.config.ts',
        '  phoenix import ./legacy/etc --force --no-stubs',
      ].join('\n'),
    )
    .action(async (paths: string[], opts: ImportCliOptions) => {
      process.exitCode = await runImport(paths, opts);
    });
}

export async function runImport(paths: string[], opts: ImportCliOptions): Promise<number> {
  // `phoenix import ... | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const out = opts.output;
  if (existsSync(out) && !opts.force) {
    process.stderr.write(`phoenix import: ${out} exists; use --force to overwrite it\n`);
    return 2;
  }
  const result = await importLegacy(paths, { outFile: out });
  if (!result.ok) {
    if (result.reportText && opts.report) process.stderr.write(result.reportText);
    process.stderr.write(`${result.error}\nphoenix import: refused, nothing written\n`);
    return 2;
  }
  try {
    mkdirSync(dirname(resolve(out)), { recursive: true });
    writeFileSync(out, result.text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    process.stderr.write(`phoenix import: cannot write ${out} (${code})\n`);
    return 2;
  }
  // Scripts: the legacy installation's own when it was given whole, placeholders for the rest.
  const stubs: string[] = [];
  const brought: string[] = [];
  const unsourced: string[] = [];
  const base = dirname(resolve(out));
  for (const s of projectScripts(result.scripts, result.bin)) {
    const file = join(base, s.path);
    if (existsSync(file) || (!s.from && !opts.stubs)) continue;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, s.content, { mode: 0o755 });
    if (!s.from) stubs.push(s.path);
    else {
      brought.push(
        `${s.path} (from ${s.from}${s.inlined.length ? `, with ${s.inlined.join(', ')} inlined` : ''})`,
      );
      for (const m of s.missing)
        unsourced.push(`${s.path} sources ${m}, which the installation does not have`);
    }
  }
  if (opts.report) process.stdout.write(result.reportText);
  const warnings = result.report.entries.filter((e) => e.kind === 'problem').length;
  process.stdout.write(
    `Imported ${result.guestCount} of ${result.legacyCount} legacy guests into ${out}` +
      `${warnings ? ` (${warnings} problem${warnings === 1 ? '' : 's'} to review)` : ''}\n`,
  );
  if (brought.length > 0)
    process.stdout.write(
      `Brought ${brought.length} legacy script(s) into the project:\n${brought.map((b) => `  ${b}\n`).join('')}`,
    );
  for (const u of unsourced) process.stdout.write(`warning: ${u}\n`);
  if (stubs.length > 0) {
    process.stdout.write(
      `Created ${stubs.length} placeholder script(s) that fail until ported (a build on a real host refuses them): ${stubs.join(', ')}\n`,
    );
  }
  return 0;
}
