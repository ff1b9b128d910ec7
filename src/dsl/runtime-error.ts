// Where in the user's files a config threw while it was being imported. The error's stack names
// places in the bundle (a temp or cached `.mjs`); the bundle's inline source map turns them back
// into `phoenix.config.ts:3:14`. Frames in Phoenix's own authoring runtime are skipped, so a throw
// inside `defineConfig` points at the user's call rather than at Phoenix.
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';

export interface SourcePlace {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  length: number;
}

const INLINE_MAP = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

function sourceMapOf(code: string): SourceMap | undefined {
  const m = INLINE_MAP.exec(code);
  if (!m?.[1]) return undefined;
  try {
    return new SourceMap(JSON.parse(Buffer.from(m[1], 'base64').toString('utf8')));
  } catch {
    return undefined;
  }
}

/**
 * Narrows a statement-level place to the name a ReferenceError names (`x is not defined`), which
 * the source map may place at the start of its statement; else the identifier there, else 1 char.
 */
function narrow(place: SourcePlace, error: unknown): SourcePlace {
  let text: string;
  try {
    text = fs.readFileSync(place.file, 'utf8').split('\n')[place.line - 1] ?? '';
  } catch {
    return place;
  }
  const name =
    error instanceof ReferenceError ? /^([\w$]+) is not defined/.exec(error.message)?.[1] : undefined;
  const found = name
    ? new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`).exec(text.slice(place.column - 1))
    : null;
  if (name && found) return { ...place, column: place.column + found.index, length: name.length };
  return { ...place, length: /^[\w$]+/.exec(text.slice(place.column - 1))?.[0].length ?? 1 };
}

/**
 * The first place in the stack of `error` that lies in a file of the config, or undefined.
 * `bundleName` is the (unique) file name the bundle was imported from, `code` its text (with an inline source
 * map whose sources are relative to `cwd`); `runtime` holds the folders of Phoenix's authoring runtime.
 */
export function placeOfThrow(
  error: unknown,
  bundleName: string,
  code: string,
  cwd: string,
  runtime: readonly string[] = [],
): SourcePlace | undefined {
  const stack = error instanceof Error ? error.stack : undefined;
  const map = stack ? sourceMapOf(code) : undefined;
  if (!stack || !map) return undefined;
  const frame = new RegExp(`/${bundleName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`, 'g');
  for (const [, l, c] of stack.matchAll(frame)) {
    const entry = map.findEntry(Number(l) - 1, Number(c) - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (entry.originalSource === undefined || entry.originalLine === undefined) continue;
    const file = path.resolve(cwd, entry.originalSource.replace(/^file:\/\//, ''));
    if (runtime.some((dir) => file.startsWith(dir + path.sep))) continue;
    const line = entry.originalLine + 1;
    const column = (entry.originalColumn ?? 0) + 1;
    return narrow({ file, line, column, length: 1 }, error);
  }
  return undefined;
}
