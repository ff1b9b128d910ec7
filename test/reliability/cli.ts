// Shared by the reliability suites: run the real CLI (bin/phoenix.js → dist/cli.js, so run
// `npm run build` first) in a child process, read the simulator's call log, and tell reads from
// writes. Nothing here mocks Phoenix or the simulator.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin', 'phoenix.js');

export interface Run {
  args: string[];
  pid: number | undefined;
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  input?: string;
  /** Called with each chunk of stdout as it arrives. */
  onStdout?: (chunk: string) => void;
}

/** Runs `phoenix <args>` to completion. */
export function phoenix(args: string[], opts: RunOptions): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, PHOENIX_SIM_SPEED: '0', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      opts.onStdout?.(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ args, pid: child.pid, status, signal, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs async jobs with at most `limit` at a time (the machines have 2 cores). */
export async function pool<T, R>(items: T[], limit: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await job(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface Call {
  cmd: string;
  args: string[];
  exit: number | null;
  start: number;
  end: number;
  signal?: string;
}

/** The simulator's call log (`$PHOENIX_SIM_ROOT/calls.jsonl`); empty when the host was never touched. */
export function callLog(simRoot: string): Call[] {
  const file = path.join(simRoot, 'calls.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Call);
}

/**
 * The read set: calls that cannot change a Proxmox host. Everything else counts as mutating.
 * `pvesh get`; `pvesm status|list`; `pct|qm status|config|list|listsnapshot|pending`;
 * `qm guest cmd <id> ping|info|get-*` (agent queries); `zfs list|get`; `grep`, `cat`, `test`.
 */
export function isRead(c: { cmd: string; args: string[] }): boolean {
  const [sub, , third] = c.args;
  switch (c.cmd) {
    case 'pvesh':
      return sub === 'get';
    case 'pvesm':
      return sub === 'status' || sub === 'list';
    case 'pct':
    case 'qm':
      if (c.cmd === 'qm' && (sub === 'guest' || sub === 'agent') && c.args[1] === 'cmd')
        return ['ping', 'info', 'get-osinfo', 'get-host-name'].includes(c.args[3] ?? '');
      if (c.cmd === 'qm' && sub === 'agent') return ['ping', 'info'].includes(third ?? '');
      return ['status', 'config', 'list', 'listsnapshot', 'pending'].includes(sub ?? '');
    case 'zfs':
      return sub === 'list' || sub === 'get';
    case 'grep':
    case 'cat':
    case 'test':
      return true;
    default:
      return false;
  }
}

/** Guest config files present in a simulator state folder (`<vmid>.conf` under every node). */
export function simGuests(simRoot: string): string[] {
  const nodes = path.join(simRoot, 'etc', 'pve', 'nodes');
  if (!existsSync(nodes)) return [];
  const out: string[] = [];
  for (const node of readdirSync(nodes)) {
    for (const kind of ['lxc', 'qemu-server']) {
      const dir = path.join(nodes, node, kind);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) if (f.endsWith('.conf')) out.push(`${node}/${kind}/${f}`);
    }
  }
  return out.sort();
}

/** A line of a JavaScript stack trace, as Node prints them. */
export const STACK_LINE = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;
