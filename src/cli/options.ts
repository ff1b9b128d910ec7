// Options shared by the verbs that read the config: `--config <file>` and loading it, so every verb
// reports a bad config the same way (all problems, file:line, exit 2, no stack trace).
import fs from 'node:fs';
import type { Command } from 'commander';
import { type Diagnostic, formatDiagnostics } from '../dsl/diagnostics.js';
import { DEFAULT_CONFIG, type LoadOptions, loadConfig } from '../dsl/load.js';
import type { Config } from '../dsl/model.js';

export interface ConfigFlags {
  config: string;
}

/** Adds `-c, --config <file>` (default ./phoenix.config.ts) to a command. */
export function configOption<T extends Command>(command: T): T {
  command.option('-c, --config <file>', 'the config file (.ts, .js or .mjs)', DEFAULT_CONFIG);
  return command;
}

/** Exit code for a config that cannot be used (bad input). */
export const EXIT_BAD_CONFIG = 2;

/**
 * Loads the config named by `--config`. On problems prints them all to stderr and returns
 * undefined after setting `process.exitCode` to 2; the caller just returns.
 */
export async function loadConfigOrExit(
  flags: ConfigFlags,
  options: LoadOptions = {},
): Promise<Config | undefined> {
  const result = await loadConfig(flags.config, options);
  if (result.ok) return result.value;
  reportConfigProblems(result.error, flags.config);
  return undefined;
}

/** Prints a config's problems (file:line, with the source line) and sets exit code 2. */
export function reportConfigProblems(diagnostics: Diagnostic[], configName: string): void {
  const n = diagnostics.length;
  process.stderr.write(
    `${formatDiagnostics(diagnostics, {
      cwd: process.cwd(),
      source: (file) => {
        try {
          return fs.readFileSync(file, 'utf8');
        } catch {
          return undefined;
        }
      },
    })}\n${n} problem${n === 1 ? '' : 's'} in ${configName}\n`,
  );
  process.exitCode = EXIT_BAD_CONFIG;
}
