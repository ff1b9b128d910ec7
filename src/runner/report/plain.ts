// Plain timestamped lines, for logs and pipes (no terminal): one line per event that matters.
import type { BuildEvent, PlanStep } from '../events.js';

const stamp = () => new Date().toISOString().slice(11, 19);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export function plainRenderer(write: (line: string) => void, verbose = false): (e: BuildEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'note':
        write(`${stamp()} note: ${e.message}`);
        break;
      case 'state-read':
        write(`${stamp()} read host state: ${e.guests} guests, ${e.hostCalls} host calls, ${secs(e.ms)}`);
        break;
      case 'plan':
        write(`${stamp()} ${e.steps.length} of ${e.selected} targets stale; ${planTotalsLine(e.steps)}`);
        break;
      case 'start':
        write(`${stamp()} start ${e.target} [${e.action}] ${e.step}${e.etaMs ? ` (~${secs(e.etaMs)})` : ''}`);
        for (const r of e.reasons) write(`${stamp()}   because ${r.text}`);
        break;
      case 'output':
        if (verbose) write(`${stamp()}   ${e.target}: ${e.line}`);
        break;
      case 'retry':
        write(`${stamp()} retry ${e.target} (attempt ${e.attempt + 1} in ${secs(e.delayMs)}): ${e.error}`);
        break;
      case 'fresh':
        break;
      case 'done':
        write(`${stamp()} done  ${e.target} ${e.changed ? '' : '(no change) '}${secs(e.ms)}`);
        break;
      case 'fail':
        write(`${stamp()} FAIL  ${e.target} after ${secs(e.ms)}: ${e.error}`);
        for (const l of e.stderrTail.split('\n').filter(Boolean)) write(`${stamp()}   | ${l}`);
        break;
      case 'blocked':
        break;
      case 'stopped':
        write(`${stamp()} stop  ${e.target} after ${secs(e.ms)} (interrupted; a re-run does it)`);
        break;
      case 'interrupt':
        write(`${stamp()} ${e.message}`);
        break;
      case 'summary':
        for (const l of summaryLines(e)) write(l);
        break;
    }
  };
}

export function summaryLines(e: Extract<BuildEvent, { type: 'summary' }>): string[] {
  const lines = [
    `built: ${e.built.length}, fresh: ${e.fresh}, failed: ${e.failed.length}, blocked: ${e.blocked.length}${e.notStarted.length ? `, not started: ${e.notStarted.length}` : ''} — ${secs(e.ms)}, ${e.hostCalls.reads} host reads, ${e.hostCalls.writes} host writes${e.interrupted ? ' (interrupted)' : ''}`,
  ];
  for (const f of e.failed) {
    lines.push(`failed: ${f.target}: ${f.error}`);
    if (f.command) lines.push(`  command: ${f.command}`);
    for (const l of f.stderrTail.split('\n').filter(Boolean)) lines.push(`  | ${l}`);
  }
  for (const d of e.nodesDown ?? []) lines.push(`node ${d.node} unreachable: ${d.reason}`);
  if (e.blocked.length) lines.push(`blocked by failures: ${e.blocked.join(', ')}`);
  return lines;
}

/**
 * The plan counted like Terraform counts resources: guests to create and to replace (their
 * configuration steps are part of that), steps updating guests that stay, and provisioning
 * steps (features, apps) wherever they run.
 */
export interface PlanTotals {
  create: number;
  update: number;
  replace: number;
  provision: number;
}

const isProvision = (target: string) => {
  const name = target.slice(target.indexOf(':') + 1);
  return name.startsWith('feature:') || name === 'app' || name.startsWith('app:');
};

export function planTotals(steps: Pick<PlanStep, 'target' | 'guest' | 'action'>[]): PlanTotals {
  const created = new Set(
    steps.filter((s) => s.action === 'create' && s.target.endsWith(':exists')).map((s) => s.guest),
  );
  const replaced = new Set(steps.filter((s) => s.action === 'replace').map((s) => s.guest));
  for (const g of replaced) created.delete(g);
  const update = steps.filter(
    (s) => !isProvision(s.target) && !created.has(s.guest) && !replaced.has(s.guest),
  ).length;
  return {
    create: created.size,
    update,
    replace: replaced.size,
    provision: steps.filter((s) => isProvision(s.target)).length,
  };
}

/** Terraform's last plan line: `Plan: 3 to create, 5 to update, 0 to replace, 4 to provision`. */
export function planTotalsLine(steps: Pick<PlanStep, 'target' | 'guest' | 'action'>[]): string {
  const t = planTotals(steps);
  return `Plan: ${t.create} to create, ${t.update} to update, ${t.replace} to replace, ${t.provision} to provision`;
}
