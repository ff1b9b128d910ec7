// Bundles a config file with esbuild into one ES module, with `phoenix-pve` resolved to this
// package's own authoring runtime. Syntax and resolution errors come back as diagnostics at their
// file:line:column.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic, Result } from './diagnostics.js';
import { err } from './diagnostics.js';

/**
 * The authoring runtime a config's `import ... from 'phoenix-pve'` gets: this package's own, so a
 * config works anywhere, installed package or not. From source that is ./index.ts; from the
 * bundled CLI (dist/cli.js) it is dist/dsl.js beside it, or the sources if they ship.
 */
function runtimeEntry(): string | undefined {
  const candidates = ['./index.ts', './dsl.js', '../src/dsl/index.ts'];
  for (const c of candidates) {
    const p = fileURLToPath(new URL(c, import.meta.url));
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** The folders of the authoring runtime: its own, and the sources its source map points into. */
export function runtimeDirs(): string[] {
  const entry = runtimeEntry();
  if (!entry) return [];
  const dir = path.dirname(entry);
  return [dir, path.resolve(dir, '../src/dsl')];
}

export interface Bundle {
  code: string;
  /** Absolute paths of every local file the bundle was made from (the config, its imports, the runtime). */
  inputs: string[];
}

/** Bundles the config into one ES module (text); npm packages it imports stay external. */
export async function bundle(file: string): Promise<Result<Bundle, Diagnostic[]>> {
  const esbuild = await import('esbuild');
  const runtime = runtimeEntry();
  const cwd = path.dirname(file);
  try {
    const result = await esbuild.build({
      entryPoints: [file],
      absWorkingDir: cwd,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
      // Inline, so a bundle served from the cache still maps a throw back to the user's line.
      sourcemap: 'inline',
      sourcesContent: false,
      plugins: runtime
        ? [
            {
              name: 'phoenix-pve',
              setup(b) {
                b.onResolve({ filter: /^phoenix-pve$/ }, () => ({ path: runtime }));
              },
            },
          ]
        : [],
    });
    const out = result.outputFiles[0];
    if (!out) return err([{ path: '', message: 'esbuild produced no output', file }]);
    const inputs = Object.keys(result.metafile.inputs).map((p) => path.resolve(cwd, p));
    return { ok: true, value: { code: out.text, inputs } };
  } catch (e) {
    const failure = e as {
      errors?: { text: string; location?: { file: string; line: number; column: number; length: number } }[];
    };
    if (!failure.errors) throw e;
    return err(
      failure.errors.map((m) => ({
        path: '',
        message: m.text,
        file: m.location ? path.resolve(cwd, m.location.file) : file,
        ...(m.location && {
          line: m.location.line,
          column: m.location.column + 1,
          length: Math.max(1, m.location.length),
        }),
      })),
    );
  }
}
