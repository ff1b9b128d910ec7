// Runs the real CLI in a pseudo-terminal (util-linux `script`), so it sees a TTY exactly as in an
// interactive shell, and Ctrl-C is the terminal's own: the byte \x03 typed into the pty makes the
// line discipline send SIGINT to the foreground process group.
import { spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'phoenix.js');

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface PtyRun {
  /** Everything the terminal showed so far (ANSI codes included). */
  output(): string;
  /** Resolves when `re` matches the output (rejects after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  /** Types Ctrl-C into the terminal. */
  ctrlC(): void;
  exited: Promise<number | null>;
  /** Types a line into the terminal. */
  type(text: string): void;
}

export function phoenixInPty(
  args: string[],
  opts: { cwd: string; env: Record<string, string>; rows?: number; cols?: number },
): PtyRun {
  const command = `stty rows ${opts.rows ?? 40} cols ${opts.cols ?? 120}; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, TERM: 'xterm-256color' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
    for (const w of [...waiters])
      if (w.re.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    output: () => out,
    waitFor(re, ms = 60_000) {
      if (re.test(out)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${out}`)), ms);
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    ctrlC: () => child.stdin.write('\x03'),
    type: (text) => child.stdin.write(text),
    exited,
  };
}

/** The output without ANSI escapes and carriage returns. */
export function plain(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes are what we strip.
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}
