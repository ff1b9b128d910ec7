// Health checks: a declared command run inside the guest (`pct exec` / `qm guest exec`), healthy
// when it exits 0, tried 1 + `retries` times `intervalS` apart. Used by `phoenix check-health` and
// by the build's `health` target, which gates the guest's dependents.
import type { Guest, HealthCheckDecl } from '../dsl/model.js';

export interface HealthHost {
  run(
    cmd: string,
    args: string[],
    opts?: { onLine?: (line: string) => void },
  ): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

export interface Attempt {
  exitCode: number;
  output: string;
}

export interface HealthResult {
  vmid: number;
  name: string;
  healthy: boolean;
  attempts: number;
  /** The last attempt's exit code and output tail (what the user needs when it failed). */
  exitCode: number;
  output: string;
}

/** The command line that runs the check in the guest (the guest's shell parses `command`). */
export function healthArgs(g: Guest, check: HealthCheckDecl): [string, string[]] {
  const id = String(g.vmid);
  if (g.kind === 'lxc') return ['pct', ['exec', id, '--', 'sh', '-c', check.command]];
  const timeout = String(Math.max(5, check.intervalS));
  return ['qm', ['guest', 'exec', id, '--timeout', timeout, '--', 'sh', '-c', check.command]];
}

/** One attempt. `qm guest exec` exits 0 whatever the guest command did: its JSON tells. */
export async function attempt(host: HealthHost, g: Guest, check: HealthCheckDecl): Promise<Attempt> {
  const [cmd, args] = healthArgs(g, check);
  const r = await host.run(cmd, args);
  if (g.kind === 'lxc') return { exitCode: r.exitCode, output: tail(r.stdout, r.stderr) };
  if (r.exitCode !== 0) return { exitCode: r.exitCode, output: tail('', r.stderr || r.stdout) };
  try {
    const j = JSON.parse(r.stdout || '{}') as {
      exitcode?: number;
      exited?: number;
      'out-data'?: string;
      'err-data'?: string;
    };
    if (j.exited !== 1) return { exitCode: -1, output: `did not finish within ${args[4]}s` };
    return { exitCode: j.exitcode ?? -1, output: tail(j['out-data'] ?? '', j['err-data'] ?? '') };
  } catch {
    return { exitCode: -1, output: `unexpected output: ${tail(r.stdout, '')}` };
  }
}

/** Runs a guest's check with its retries; `sleep` waits between attempts (scaled on the simulator). */
export async function runHealthCheck(
  host: HealthHost,
  g: Guest,
  check: HealthCheckDecl,
  sleep: (seconds: number) => Promise<void>,
  log: (line: string) => void = () => {},
): Promise<HealthResult> {
  const tries = 1 + Math.max(0, Math.floor(check.retries));
  let last: Attempt = { exitCode: -1, output: '' };
  for (let i = 1; i <= tries; i++) {
    last = await attempt(host, g, check);
    if (last.exitCode === 0)
      return { vmid: g.vmid, name: g.name, healthy: true, attempts: i, exitCode: 0, output: last.output };
    log(`${g.vmid}: attempt ${i}/${tries} exited ${last.exitCode}${last.output ? `: ${last.output}` : ''}`);
    if (i < tries) await sleep(check.intervalS);
  }
  return {
    vmid: g.vmid,
    name: g.name,
    healthy: false,
    attempts: tries,
    exitCode: last.exitCode,
    output: last.output,
  };
}

export function formatHealth(r: HealthResult): string {
  return r.healthy
    ? `${r.vmid} ${r.name}: healthy${r.attempts > 1 ? ` (attempt ${r.attempts})` : ''}`
    : `${r.vmid} ${r.name}: UNHEALTHY after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'} (exit ${r.exitCode})${r.output ? `: ${r.output}` : ''}`;
}

function tail(stdout: string, stderr: string): string {
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.slice(-2).join(' | ');
}
