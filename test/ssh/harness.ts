// A real OpenSSH server on loopback in front of the simulator (test/ssh/sshd.sh), for the SSH and
// acceptance suites. When it cannot run here the suites skip with the reason, except where
// PHOENIX_REQUIRE_SSHD=1 (CI), where that is a failure.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin', 'phoenix.js');
const SCRIPT = path.join(ROOT, 'test', 'ssh', 'sshd.sh');

const made: string[] = [];
process.on('exit', () => {
  if (process.env.PHOENIX_KEEP_TMP) return;
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export interface LoopbackSshd {
  port: number;
  /** `ssh://root@127.0.0.1:<port>` */
  url: string;
  simRoot: string;
  /** Client ssh_config with the user key and the server's host key (for PHOENIX_SSH_CONFIG). */
  sshConfig: string;
  /** Client ssh_config whose known_hosts is empty. */
  unknownHostConfig: string;
  /** Kills sshd and every session of it (a crashed or rebooted node, seen from the client). */
  kill(): void;
  /** Starts sshd again on the same port and simulator state. */
  restart(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Every descendant of `pid`, from /proc (sshd's sessions are its children, in their own sessions). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const started: Array<() => void> = [];
process.on('exit', () => {
  for (const stop of started) stop();
});

/**
 * Starts sshd in front of the simulator state folder `simRoot` (already initialised). Returns the
 * reason as a string when this machine cannot run it.
 */
export async function startSshd(simRoot: string): Promise<LoopbackSshd | string> {
  const dir = tempDir('phoenix-sshd-');
  const port = await freePort();
  let pid = 0;
  const start = (): string | undefined => {
    const r = spawnSync('bash', [SCRIPT, path.join(dir, 'ssh'), simRoot, String(port)], {
      encoding: 'utf8',
      env: { ...process.env, PHOENIX_SIM_SPEED: process.env.PHOENIX_SIM_SPEED ?? '0' },
    });
    if (r.status !== 0) return (r.stderr || r.stdout || `sshd.sh exited ${r.status}`).trim();
    pid = Number(/^PID=(\d+)$/m.exec(r.stdout)?.[1]);
    return undefined;
  };
  const failure = start();
  if (failure) return failure;
  const kill = (): void => {
    if (!pid) return;
    for (const p of [pid, ...descendants(pid)]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    pid = 0;
  };
  started.push(kill);
  return {
    port,
    url: `ssh://root@127.0.0.1:${port}`,
    simRoot,
    sshConfig: path.join(dir, 'ssh', 'ssh_config'),
    unknownHostConfig: path.join(dir, 'ssh', 'ssh_config.unknown'),
    kill,
    async restart() {
      kill();
      const again = start();
      if (again) throw new Error(again);
    },
  };
}

/** Skip (with the reason, loudly) or, under PHOENIX_REQUIRE_SSHD=1, fail. */
export function cannotRun(reason: string): string {
  const message = `real-sshd tests cannot run here: ${reason}`;
  if (process.env.PHOENIX_REQUIRE_SSHD === '1') throw new Error(`${message} (PHOENIX_REQUIRE_SSHD=1)`);
  process.stderr.write(`\n*** SKIPPED: ${message} ***\n\n`);
  return message;
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A temp copy of a fixture folder with its own simulator state folder. */
export function projectCopy(fixture: string): { dir: string; simRoot: string } {
  const dir = tempDir('phoenix-ssh-project-');
  cpSync(fixture, dir, { recursive: true });
  const simRoot = path.join(dir, '.phoenix', 'sim');
  mkdirSync(simRoot, { recursive: true });
  return { dir, simRoot };
}

/** Runs the phoenix CLI (dist) in `cwd`, asynchronously (a test may kill sshd meanwhile). */
export function phoenix(cwd: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, PHOENIX_SIM_SPEED: '0', PHOENIX_RETRY_BASE_MS: '10', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

/** The simulator's call log (one JSON line per pct/qm/pvesh/... call). */
export function simCalls(simRoot: string): Array<{ cmd: string; args: string[]; exit: number }> {
  try {
    return readFileSync(path.join(simRoot, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { cmd: string; args: string[]; exit: number });
  } catch {
    return [];
  }
}
