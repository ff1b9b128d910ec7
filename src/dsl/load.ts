// Loads `phoenix.config.ts` (or .js/.mjs): bundle it with esbuild, import the bundle, validate what
// it exports. Every failure comes back as diagnostics with the file, and a line where one exists —
// syntax errors from esbuild, a config that throws while loading, and validation problems (located
// in the source by ./locate.ts).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, runtimeDirs } from './bundle.js';
import { cachedBundle, cachedByText, storeBundle } from './bundle-cache.js';
import type { Diagnostic, Result } from './diagnostics.js';
import { err } from './diagnostics.js';
import { duplicateKeys, locatePaths } from './locate.js';
import type { Config } from './model.js';
import { placeOfThrow } from './runtime-error.js';
import { validateConfig } from './validate.js';

export const DEFAULT_CONFIG = 'phoenix.config.ts';

export interface LoadOptions {
  /** Check that feature and app scripts exist. Default true. */
  checkFiles?: boolean;
  /** Reuse the bundle of an unchanged config from `.phoenix/cache/` beside it. Default true. */
  cache?: boolean;
}

function problem(file: string, message: string, fix?: string): Diagnostic {
  return { path: '', message, file, ...(fix && { fix }) };
}

/** A file's text, or undefined when it cannot be read. */
function readText(file: string | undefined): string | undefined {
  try {
    return file === undefined ? undefined : fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Imports bundled code from a temp file `name` beside the config (so its bare imports resolve from there). */
async function importTemp(code: string, file: string, name: string): Promise<unknown> {
  let tmp = path.join(path.dirname(file), name);
  try {
    fs.writeFileSync(tmp, code);
  } catch {
    tmp = path.join(os.tmpdir(), name); // read-only config folder: imports of npm packages may not resolve
    fs.writeFileSync(tmp, code);
  }
  try {
    return await import(pathToFileURL(tmp).href);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** The config module: from the cache when nothing changed, else bundled now. */
async function importConfig(
  file: string,
  useCache: boolean,
): Promise<Result<Record<string, unknown>, Diagnostic[]>> {
  let target = useCache ? cachedBundle(file) : undefined;
  let code: string | undefined;
  if (!target) {
    const b = await bundle(file);
    if (!b.ok) return b;
    target = useCache ? storeBundle(file, b.value) : undefined;
    code = b.value.code;
  }
  // Unique, so the stack frames of a throw can be told apart from any other module's.
  const name = target
    ? path.basename(target)
    : `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.mjs`;
  try {
    const mod = target ? await import(pathToFileURL(target).href) : await importTemp(code ?? '', file, name);
    return { ok: true, value: mod as Record<string, unknown> };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const at = placeOfThrow(e, name, code ?? readText(target) ?? '', path.dirname(file), runtimeDirs());
    return err([{ ...problem(file, `the config failed while loading: ${message}`), ...at }]);
  }
}

/** Adds `line`/`column` from the config source to diagnostics that name a config path. */
export async function locateDiagnostics(diagnostics: Diagnostic[], file: string): Promise<Diagnostic[]> {
  const wanted = diagnostics.filter((d) => d.file === file && d.line === undefined);
  const source = wanted.length > 0 ? readText(file) : undefined;
  const keys = new Set(wanted.filter((d) => d.underline === 'key').map((d) => d.path));
  const at =
    source === undefined ? new Map() : locatePaths(source, [...new Set(wanted.map((d) => d.path))], keys);
  return diagnostics.map((d) => {
    const loc = d.file === file && d.line === undefined ? at.get(d.path) : undefined;
    const { underline: _, ...rest } = d; // said where to point; not part of the problem shown
    return loc ? { ...rest, line: loc.line, column: loc.column, length: loc.length } : rest;
  });
}

/** Keys written twice in the config file itself (see duplicateKeys): the first one is lost on import. */
function writtenTwice(file: string, useCache: boolean): Diagnostic[] {
  const source = readText(file);
  if (source === undefined) return [];
  const found = useCache
    ? cachedByText(file, source, 'dupkeys', () => duplicateKeys(source))
    : duplicateKeys(source);
  return found.map(({ path: at, location }) => {
    const guest = /^guests\.(\d+)$/.exec(at)?.[1];
    return {
      path: at,
      message: guest
        ? `VMID ${guest} is declared twice; JavaScript keeps only the last declaration`
        : 'is written twice in the same object; JavaScript keeps only the last one',
      fix: guest ? 'give each guest its own VMID, or remove one of the two' : 'remove one of the two',
      file,
      ...location,
    };
  });
}

export async function loadConfig(
  configPath: string,
  options: LoadOptions = {},
): Promise<Result<Config, Diagnostic[]>> {
  const file = path.resolve(configPath);
  if (!fs.existsSync(file)) {
    return err([
      problem(
        file,
        `config file not found: ${file}`,
        configPath === DEFAULT_CONFIG
          ? `create ${DEFAULT_CONFIG} here, or pass --config <file>`
          : 'check the path given to --config',
      ),
    ]);
  }
  if (!fs.statSync(file).isFile())
    return err([problem(file, `not a file: ${file}`, 'pass the config file itself')]);

  const loaded = await importConfig(file, options.cache !== false);
  if (!loaded.ok) return loaded;
  const mod = loaded.value;
  if (!('default' in mod)) {
    return err([
      problem(file, 'the config has no default export', 'end it with `export default defineConfig({ ... })`'),
    ]);
  }
  const result = validateConfig(
    mod.default,
    file,
    options.checkFiles === false ? {} : { fileExists: fs.existsSync },
  );
  const twice = writtenTwice(file, options.cache !== false);
  if (result.ok && twice.length === 0) return result;
  // In file order, so the list reads top to bottom like the config (unlocated ones first).
  const located = [...twice, ...(await locateDiagnostics(result.ok ? [] : result.error, file))];
  return err(
    located
      .map((d, i) => [d, i] as const)
      .sort(([a, i], [b, j]) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) || i - j)
      .map(([d]) => d),
  );
}
