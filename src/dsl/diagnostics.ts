// Results and diagnostics for everything that reads a config: a problem names its place in the
// config (`guests.103.cloneFrom`), says what is wrong and how to fix it, and — when the loader
// can find it — the file, line and column that declare it.

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

export interface Diagnostic {
  /** Place in the config, dotted: `guests.103.cloneFrom`, `guests.900.net.0.hwaddr`; `''` for the file itself. */
  path: string;
  message: string;
  /** What to change, when there is an obvious answer. */
  fix?: string;
  file?: string;
  /** 1-based. */
  line?: number;
  /** 1-based. */
  column?: number;
  /** Length of the offending text on that line, for the squiggle. */
  length?: number;
  /** What the loader points at: the value written at `path` (default), or its key (an unknown field). */
  underline?: 'key';
}

export interface FormatOptions {
  /** Shown paths are relative to this folder. */
  cwd?: string;
  /** Source text of a file, to print the offending line under the message. */
  source?: (file: string) => string | undefined;
}

function relative(file: string, cwd: string | undefined): string {
  if (!cwd) return file;
  const prefix = cwd.endsWith('/') ? cwd : `${cwd}/`;
  return file.startsWith(prefix) ? file.slice(prefix.length) : file;
}

/** One block per problem: `file:line:col path: message`, the source line with a squiggle, the fix. */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], options: FormatOptions = {}): string {
  // Each file is read and split once, not once per problem: with thousands of problems in one
  // config that made printing them quadratic.
  const sources = new Map<string, string[] | undefined>();
  const linesOf = (file: string): string[] | undefined => {
    if (!sources.has(file)) sources.set(file, options.source?.(file)?.split('\n'));
    return sources.get(file);
  };
  const blocks = diagnostics.map((d) => {
    const where = d.file
      ? `${relative(d.file, options.cwd)}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ''}` : ''}: `
      : '';
    const lines = [`${where}${d.path ? `${d.path}: ` : ''}${d.message}`];
    const text = d.file && d.line ? linesOf(d.file)?.[d.line - 1] : undefined;
    if (text !== undefined && d.column) {
      // Keep tabs so the squiggle lines up under the text in any terminal.
      const pad = text.slice(0, d.column - 1).replace(/[^\t]/g, ' ');
      lines.push(`  ${d.line} | ${text}`);
      lines.push(`  ${' '.repeat(String(d.line).length)} | ${pad}${'~'.repeat(Math.max(1, d.length ?? 1))}`);
    }
    if (d.fix) lines.push(`  fix: ${d.fix}`);
    return lines.join('\n');
  });
  return blocks.join('\n');
}
