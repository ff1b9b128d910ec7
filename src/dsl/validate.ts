// Validation of a config that may have bypassed the types (JavaScript, imported data): shape,
// defaults and inheritance, then cross-field rules — every problem in one pass, each named by its
// place in the config and, where there is one, the fix. Pure: no file system (unless the caller
// passes `fileExists`), no clock.
import path from 'node:path';
import type { Diagnostic, Result } from './diagnostics.js';
import { err, ok } from './diagnostics.js';
import type { Config } from './model.js';
import { Reader } from './reader.js';
import { resolveGuests } from './resolve.js';
import { checkSemantics } from './semantic.js';
import { type ParsedConfig, parseConfig } from './shape.js';

export const DEFAULT_NODE = 'pve';

/**
 * Validates `raw` (what a config module exports, or data shaped like it) and returns the resolved
 * config. `file` is the absolute path the config came from; scripts resolve relative to it.
 */
export interface ValidateOptions {
  /**
   * Checks that feature and app scripts exist (absolute path in, yes/no out). Left out, scripts are
   * not checked — the importer validates before it writes them.
   */
  fileExists?: (absolutePath: string) => boolean;
}

export function validateConfig(
  raw: unknown,
  file: string,
  options: ValidateOptions = {},
): Result<Config, Diagnostic[]> {
  const r = new Reader();
  const parsed = parseConfig(raw, r);
  if (!parsed) return err(withFile(r.diagnostics, file));
  if (options.fileExists) checkScripts(parsed, file, options.fileExists, r);
  const node = Object.keys(parsed.nodes ?? {})[0] ?? parsed.node ?? DEFAULT_NODE;
  const guests = resolveGuests(parsed, node, r);
  const config: Config = { file, node, storages: parsed.storages, features: parsed.features, guests };
  if (parsed.nodes) config.nodes = parsed.nodes;
  if (parsed.meta !== undefined) config.meta = parsed.meta;
  checkSemantics(config, parsed.guests, r);
  return r.diagnostics.length > 0 ? err(withFile(r.diagnostics, file)) : ok(config);
}

function checkScripts(parsed: ParsedConfig, file: string, exists: (p: string) => boolean, r: Reader): void {
  const dir = path.dirname(file);
  const check = (script: string, at: string) => {
    const full = path.resolve(dir, script);
    if (!exists(full))
      r.problem(
        at,
        `script ${script} not found (looked for ${full})`,
        'paths are relative to the config file',
      );
  };
  for (const [name, f] of Object.entries(parsed.features)) check(f.script, `features.${name}.script`);
  for (const g of parsed.guests) if (g.spec.app) check(g.spec.app.script, `${g.path}.app.script`);
}

function withFile(diagnostics: Diagnostic[], file: string): Diagnostic[] {
  return diagnostics.map((d) => ({ ...d, file: d.file ?? file }));
}
