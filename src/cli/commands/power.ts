// `phoenix start|stop|restart [ids...]`: power verbs in service-dependency order.
import type { Command } from 'commander';
import { readState } from '../../pipeline/engine.js';
import {
  describePower,
  executePower,
  type PowerStep,
  type PowerVerb,
  planPower,
} from '../../pipeline/power.js';
import { formatHealth, runHealthCheck } from '../../targets/health.js';
import { confirm, declaredIds, parseIds, withBuildLock } from '../common.js';
import { addCommonOptions, type CommonFlags, fail, hostSleep, setup } from '../engine.js';

interface PowerFlags extends CommonFlags {
  deps: boolean;
  health: boolean;
  force?: boolean;
  dryRun?: boolean;
  yes?: boolean;
}

const HELP: Record<PowerVerb, string> = {
  start: 'Start guests, dependencies first (all declared guests when none given)',
  stop: 'Stop guests cleanly, dependents first (all declared guests when none given)',
  restart: 'Restart guests: stop them dependents first, then start them dependencies first',
};

export function registerPower(program: Command): void {
  for (const verb of ['start', 'stop', 'restart'] as const) {
    const cmd = addCommonOptions(
      program
        .command(verb)
        .description(HELP[verb])
        .argument('[ids...]', 'VMIDs (default: every declared guest)'),
    ).option('-n, --dry-run', 'show the commands in order; change nothing');
    if (verb !== 'restart')
      cmd.option(
        '--no-deps',
        verb === 'start'
          ? 'start only the named guests, not what they depend on'
          : 'stop only the named guests, not the guests that depend on them',
      );
    if (verb !== 'stop')
      cmd.option(
        '--no-health',
        'do not wait for health checks before starting the guests that depend on a guest',
      );
    if (verb === 'stop')
      cmd.option('-y, --yes', 'also stop the guests that depend on the named ones without asking');
    if (verb !== 'start')
      cmd.option('--force', 'stop immediately (pct stop / qm stop) instead of a clean shutdown');
    cmd.action(async (refs: string[], flags: PowerFlags) => {
      await power(verb, refs, flags);
    });
  }
}

async function power(verb: PowerVerb, refs: string[], flags: PowerFlags): Promise<void> {
  const parsed = parseIds(refs);
  if (!parsed.ok) return fail(verb, parsed.error);
  const ready = await setup(verb, flags);
  if (!ready) return;
  const { engine, host } = ready;
  const ids = declaredIds(engine.config, parsed.value);
  if (!ids.ok) return fail(verb, ids.error);
  const read = await readState(engine, host);
  if (!read.ok) return fail(verb, `cannot read ${host.label}: ${read.error}`, 1);
  const plan = planPower(engine.config, read.value.state, ids.value, verb, {
    only: flags.deps === false,
    force: !!flags.force,
  });
  const out = (l: string) => process.stdout.write(`${l}\n`);
  for (const n of plan.notes) out(`note: ${n}`);
  if (plan.problems.length) {
    for (const p of plan.problems) process.stderr.write(`phoenix ${verb}: ${p}\n`);
    process.exitCode = 1;
    return;
  }
  if (flags.dryRun) {
    for (const l of describePower(plan)) out(l);
    return;
  }
  if (!plan.steps.length) return;
  // Stopping a guest also stops what depends on it: a surprise worth a question.
  const extra = plan.steps.filter((s) => !ids.value.includes(s.vmid));
  if (verb === 'stop' && ids.value.length && extra.length && !flags.yes) {
    const list = extra.map((s) => `${s.vmid}${s.name ? ` (${s.name})` : ''}`).join(', ');
    const what = `stopping ${ids.value.join(', ')} also stops ${extra.length} guest${extra.length === 1 ? '' : 's'} that depend${extra.length === 1 ? 's' : ''} on it: ${list}`;
    if (!process.stdin.isTTY)
      return fail(
        verb,
        `${what}; pass --yes to stop them too, or --no-deps to stop only ${ids.value.join(', ')}`,
      );
    if (!(await confirm(`${what[0]!.toUpperCase()}${what.slice(1)}. Stop them too?`))) {
      process.stderr.write(
        `phoenix ${verb}: cancelled, nothing was stopped (--no-deps stops only ${ids.value.join(', ')})\n`,
      );
      process.exitCode = 1;
      return;
    }
  }
  // A started guest with a health check must pass it before its dependents start.
  const sleep = hostSleep();
  const afterStart = async (s: PowerStep): Promise<string | undefined> => {
    const g = engine.config.guests.get(s.vmid);
    if (!g?.healthCheck || flags.health === false) return undefined;
    const r = await runHealthCheck(host, g, g.healthCheck, sleep, (l) => out(`  ${l}`));
    out(`  ${formatHealth(r)}`);
    return r.healthy ? undefined : formatHealth(r);
  };
  const locked = await withBuildLock(host, verb, () => executePower(host, plan, out, afterStart));
  if (!locked.ok) return fail(verb, locked.error, 1);
  const { done, failed } = locked.value;
  const past = verb === 'stop' ? 'stopped' : verb === 'start' ? 'started' : 'restarted';
  if (verb !== 'restart' && done.length) out(`${past}: ${done.map((s) => s.vmid).join(', ')}`);
  if (verb === 'restart') {
    const started = done.filter((s) => s.command === 'start').map((s) => s.vmid);
    if (started.length) out(`restarted: ${started.join(', ')}`);
  }
  if (failed) {
    process.stderr.write(`phoenix ${verb}: ${failed.message}\n`);
    const rest = plan.steps.slice(done.length + 1).map((s) => `${s.command} ${s.vmid}`);
    if (rest.length) process.stderr.write(`phoenix ${verb}: not done: ${rest.join(', ')}\n`);
    process.exitCode = 1;
  }
}
