// `phoenix destroy <ids...>`: destroys guests on the host (stop, then `pct|qm destroy --purge`),
// clones before their sources, after showing what is lost and asking (or --yes).
import path from 'node:path';
import type { Command } from 'commander';
import { describeDestroy, executeDestroy, planDestroy } from '../../pipeline/destroy.js';
import { readState } from '../../pipeline/engine.js';
import { confirm, parseIds, withBuildLock } from '../common.js';
import { addCommonOptions, type CommonFlags, fail, setup } from '../engine.js';

interface DestroyFlags extends CommonFlags {
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function registerDestroy(program: Command): void {
  addCommonOptions(
    program
      .command('destroy')
      .description('Destroy guests on the host (stop, then destroy with --purge); asks unless --yes')
      .argument('<ids...>', 'VMIDs of the guests to destroy'),
  )
    .option('-y, --yes', 'do not ask; also allows destroying a guest the config does not declare')
    .option('-n, --dry-run', 'show what would be destroyed and lost; change nothing')
    .option('--json', 'print the plan and the outcome as JSON')
    .action(async (refs: string[], flags: DestroyFlags) => {
      await destroy(refs, flags);
    });
}

async function destroy(refs: string[], flags: DestroyFlags): Promise<void> {
  const ids = parseIds(refs);
  if (!ids.ok) return fail('destroy', ids.error);
  const ready = await setup('destroy', flags);
  if (!ready) return;
  const { engine, host } = ready;
  const read = await readState(engine, host);
  if (!read.ok) return fail('destroy', `cannot read ${host.label}: ${read.error}`, 1);
  const configName = path.basename(engine.config.file);
  const plan = planDestroy(engine.config, read.value.state, ids.value, { yes: !!flags.yes, configName });
  const lines = describeDestroy(plan);
  const out = (l: string) => process.stdout.write(`${l}\n`);
  if (!flags.json) {
    for (const l of lines) out(l);
    for (const n of plan.notes) out(`note: ${n}`);
  }
  if (plan.problems.length) {
    if (flags.json) out(JSON.stringify({ plan, destroyed: [], problems: plan.problems }));
    for (const p of plan.problems) process.stderr.write(`phoenix destroy: ${p}\n`);
    process.stderr.write('phoenix destroy: nothing was destroyed\n');
    process.exitCode = 1;
    return;
  }
  if (!plan.items.length) {
    if (flags.json) out(JSON.stringify({ plan, destroyed: [], problems: [] }));
    return;
  }
  if (flags.dryRun) {
    if (flags.json) out(JSON.stringify({ plan, destroyed: [], problems: [] }));
    return;
  }
  if (!flags.yes) {
    if (!process.stdin.isTTY) {
      return fail(
        'destroy',
        'refusing to destroy without confirmation: stdin is not a terminal; pass --yes to confirm',
      );
    }
    const n = plan.items.length;
    const ok = await confirm(
      `Destroy ${n} guest${n === 1 ? '' : 's'} (${plan.items.map((i) => i.vmid).join(', ')})? This cannot be undone.`,
    );
    if (!ok) {
      process.stderr.write('phoenix destroy: cancelled, nothing was destroyed\n');
      process.exitCode = 1;
      return;
    }
  }
  const locked = await withBuildLock(host, 'destroy', () =>
    executeDestroy(host, plan, (l) => {
      if (!flags.json) out(l);
    }),
  );
  if (!locked.ok) return fail('destroy', locked.error, 1);
  const outcome = locked.value;
  if (flags.json)
    out(JSON.stringify({ plan, destroyed: outcome.destroyed, failed: outcome.failed ?? null, problems: [] }));
  else if (outcome.destroyed.length) out(`destroyed: ${outcome.destroyed.join(', ')}`);
  if (outcome.failed) {
    const rest = plan.items.map((i) => i.vmid).filter((v) => !outcome.destroyed.includes(v));
    process.stderr.write(`phoenix destroy: ${outcome.failed.message}\n`);
    process.stderr.write(`phoenix destroy: not destroyed: ${rest.join(', ')}\n`);
    process.exitCode = 1;
  }
}
