// flock(2) as Proxmox uses it, emulated across processes without flock: the lock file holds a
// JSON record of its holders ({"ex":pid} or {"sh":[pids]}); a holder whose pid is dead no longer
// counts (a killed process releases its flock). A short O_EXCL mutex file guards each update.
// Waiting polls with a blocking sleep (no CPU spin) and honours Proxmox's timeouts and messages.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { PveDie } from './errors.js';
import { type Out, sleepMs, writeFileAtomic } from './io.js';

interface Holders {
  ex?: number;
  sh?: number[];
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `fn` while holding a tiny mutex on `path.mx` (held for microseconds, stale after 2 s). */
function withMutex<T>(path: string, fn: () => T): T {
  const mx = `${path}.mx`;
  mkdirSync(dirname(mx), { recursive: true });
  for (;;) {
    try {
      const fd = openSync(mx, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        const holder = Number(readFileSync(mx, 'utf8'));
        const age = Date.now() - statSync(mx).mtimeMs;
        if ((holder > 0 && !alive(holder)) || age > 2000) rmSync(mx, { force: true });
      } catch {
        // vanished meanwhile
      }
      sleepMs(2);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(mx, { force: true });
  }
}

function readHolders(path: string): Holders {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Holders;
    const out: Holders = {};
    if (h.ex && alive(h.ex)) out.ex = h.ex;
    const sh = (h.sh ?? []).filter(alive);
    if (sh.length) out.sh = sh;
    return out;
  } catch {
    return {};
  }
}

function tryAcquire(path: string, shared: boolean): boolean {
  return withMutex(path, () => {
    const h = readHolders(path);
    const me = process.pid;
    if (h.ex === me) return true; // re-entrant, like lock_file_full's per-process hash
    if (shared) {
      if (h.ex) return false;
      h.sh = [...(h.sh ?? []).filter((p) => p !== me), me];
    } else {
      if (h.ex || (h.sh ?? []).some((p) => p !== me)) return false;
      h.ex = me;
      delete h.sh;
    }
    writeFileAtomic(path, JSON.stringify(h));
    return true;
  });
}

function release(path: string): void {
  withMutex(path, () => {
    const h = readHolders(path);
    if (h.ex === process.pid) delete h.ex;
    if (h.sh) h.sh = h.sh.filter((p) => p !== process.pid);
    writeFileAtomic(path, JSON.stringify(h));
  });
}

const held = new Map<string, number>();

/** The wait for a lock ran out (Proxmox's `got timeout`; flock(1) turns it into its conflict exit code). */
export class LockTimeout extends PveDie {}

/**
 * `lock_file_full`: takes the lock (waiting up to `timeoutS`, printing `trying to acquire lock...`
 * then ` OK`), runs `fn`, releases. `shownPath` is the real host path used in messages; `quiet`
 * is for the simulator's own bookkeeping locks, which a real host does not have.
 */
export function withFileLock<T>(
  io: Out,
  path: string,
  shownPath: string,
  timeoutS: number,
  shared: boolean,
  fn: () => T,
  quiet = false,
): T {
  const depth = held.get(path) ?? 0;
  if (depth > 0) {
    held.set(path, depth + 1);
    try {
      return fn();
    } finally {
      held.set(path, (held.get(path) ?? 1) - 1);
    }
  }
  if (!tryAcquire(path, shared)) {
    if (!quiet) io.err('trying to acquire lock...\n');
    const deadline = Date.now() + timeoutS * 1000;
    let ok = false;
    while (Date.now() < deadline) {
      sleepMs(Math.min(50, Math.max(1, deadline - Date.now())));
      if (tryAcquire(path, shared)) {
        ok = true;
        break;
      }
    }
    if (!ok) throw new LockTimeout(`can't lock file '${shownPath}' - got timeout`);
    if (!quiet) io.err(' OK\n');
  }
  held.set(path, 1);
  try {
    return fn();
  } finally {
    held.delete(path);
    release(path);
  }
}

/** A silent exclusive lock around the simulator's own state files (`<path>.lock`). */
export function withStateLock<T>(io: Out, path: string, fn: () => T): T {
  return withFileLock(io, `${path}.lock`, `${path}.lock`, 10, false, fn, true);
}
