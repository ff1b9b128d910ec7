// `health`: the guest's declared health check passed after its provisioning: a command run inside
// the guest (`pct exec` / `qm guest exec`), healthy when it exits 0, tried 1 + `retries` times
// `intervalS` apart (also run by `phoenix check-health` and after `phoenix start`). It is the
// guest's last target, so a service dependent (`dependsOn`) starts provisioning only once this
// guest answers healthy. Its inputs include the stamps of the guest's creation and provisioning:
// when any of them is redone, the check runs again; otherwise a second build does not re-run it.
import type { Guest, HealthCheckDecl } from '../dsl/model.js';
import type { Observation, TargetContext } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import { showCommand } from './common.js';
import { defineTarget } from './define.js';
import { guestExecArgs, parseGuestExec } from './guest-exec.js';

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
  return ['qm', guestExecArgs(g.vmid, Math.max(5, check.intervalS), ['sh', '-c', check.command])];
}

/** One attempt. `qm guest exec` exits 0 whatever the guest command did: its JSON tells. */
export async function attempt(host: HealthHost, g: Guest, check: HealthCheckDecl): Promise<Attempt> {
  const [cmd, args] = healthArgs(g, check);
  const r = await host.run(cmd, args);
  if (g.kind === 'lxc') return { exitCode: r.exitCode, output: tail(r.stdout, r.stderr) };
  if (r.exitCode !== 0) return { exitCode: r.exitCode, output: tail('', r.stderr || r.stdout) };
  const x = parseGuestExec(r.stdout);
  if (!x.ok) return { exitCode: -1, output: x.error };
  if (!x.value.exited) return { exitCode: -1, output: `did not finish within ${args[4]}s` };
  return { exitCode: x.value.exitCode, output: tail(x.value.out, x.value.err) };
}

/** Runs a guest's check with its retries; `sleep` waits between attempts (the host's clock). */
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

function builtStamps(ctx: TargetContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, fp] of Object.entries(ctx.stamps.targets))
    if (name === 'exists' || name === 'app' || name === 'volumes' || name.startsWith('feature:'))
      out[name] = fp;
  return out;
}

export const health = defineTarget<Guest, HealthCheckDecl>({
  kind: 'health',
  // One, named `health`: the declared check, when the guest has one and is not a template.
  each: (g) => (g.healthCheck && !g.template ? [g.healthCheck] : []),
  // Last: the guest is built.
  needs: (_g, made) => made.finals(),
  stamp: 'required',
  inputs: (ctx, check) => ({ check, built: builtStamps(ctx) }),
  observe: (ctx): Observation =>
    ctx.gs ? { kind: 'ok' } : { kind: 'missing', detail: 'guest does not exist yet' },
  judge: () => 'update',
  describe: ({ guest: g }, _obs, check) => {
    const [cmd, args] = healthArgs(g, check);
    return `${showCommand(cmd, args)} (up to ${1 + check.retries} tries, ${check.intervalS}s apart)`;
  },
  apply: async (ctx, check) => {
    const g = ctx.guest;
    const r = await runHealthCheck(ctx.host, g, check, (s) => ctx.host.sleep(s), ctx.log);
    if (!r.healthy) throw new StepError(formatHealth(r), healthArgs(g, check).join(' '), r.output);
    ctx.log(formatHealth(r));
    return { changed: true };
  },
});
