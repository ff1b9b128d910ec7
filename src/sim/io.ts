// Small synchronous I/O helpers. The simulator is synchronous on purpose: every command is a
// short-lived process, and blocking sleeps (Atomics.wait) cost no CPU while a lock is awaited.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the process for `ms` milliseconds without spinning. */
export function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, Math.ceil(ms));
}

/**
 * Writes a file atomically (temp file + rename), as pmxcfs makes writes appear atomic. No fsync:
 * readers are other processes, not a machine that lost power.
 */
export function writeFileAtomic(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp.${process.pid}.${Math.random().toString(36).slice(2)}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function readJson<T>(path: string, fallback: T): T {
  const text = readText(path);
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function writeJson(path: string, data: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(data, null, 1)}\n`);
}

export { existsSync };

/** Output sinks of one command run; stdout/stderr are written synchronously so order is kept. */
export interface Out {
  out(text: string): void;
  err(text: string): void;
  /** The command's standard input up to EOF (only read by commands that take it); none = empty. */
  stdin?(): Buffer;
}

export const processOut: Out = {
  out: (text) => writeAll(1, text),
  err: (text) => writeAll(2, text),
  stdin: () => readAll(0),
};

function readAll(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        sleepMs(1);
        continue;
      }
      if (code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') sleepMs(1);
      else if ((e as NodeJS.ErrnoException).code === 'EPIPE') return;
      else throw e;
    }
  }
}
