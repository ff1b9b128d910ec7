// `phoenix check-health [ids...]`: runs the declared health checks inside the guests now.
import type { Command } from 'commander';
import { readState } from '../../pipeline/engine.js';
import { formatHealth, type HealthResult, runHealthCheck } from '../../targets/health.js';
import { declaredIds, parseIds } from '../common.js';
import { addCommonOptions, type CommonFlags, fail, hostSleep, setup } from '../engine.js';

interface HealthFlags extends CommonFlags {
  json?: boolean;
}

export function registerCheckHealth(program: Command): void {
  addCommonOptions(
    program
      .command('check-health')
      .description(
        'Run the declared health checks inside the guests (all guests that declare one when none given)',
      )
      .argument('[ids...]', 'VMIDs'),
  )
    .option('--json', 'print the results as JSON')
    .action(async (refs: string[], flags: HealthFlags) => {
      await checkHealth(refs, flags);
    });
}

async function checkHealth(refs: string[], flags: HealthFlags): Promise<void> {
  const parsed = parseIds(refs);
  if (!parsed.ok) return fail('check-health', parsed.error);
  const ready = await setup('check-health', flags);
  if (!ready) return;
  const { engine, host } = ready;
  const ids = declaredIds(engine.config, parsed.value);
  if (!ids.ok) return fail('check-health', ids.error);
  const read = await readState(engine, host);
  if (!read.ok) return fail('check-health', `cannot read ${host.label}: ${read.error}`, 1);
  const state = read.value.state;
  const guests = ids.value.length
    ? ids.value.map((id) => engine.config.guests.get(id)!)
    : [...engine.config.guests.values()].filter((g) => g.healthCheck && !g.template);
  const sleep = hostSleep();
  const results: Array<HealthResult | { vmid: number; name: string; healthy: boolean; skipped: string }> = [];
  const out = (l: string) => process.stdout.write(`${l}\n`);
  for (const g of guests) {
    const gs = state.guests.get(g.vmid);
    let skipped: string | undefined;
    if (!g.healthCheck) skipped = 'declares no healthCheck';
    else if (!gs) skipped = 'does not exist on the host';
    else if (gs.template) skipped = 'is a template (never runs)';
    else if (gs.status !== 'running') skipped = `is ${gs.status}`;
    if (skipped !== undefined || !g.healthCheck) {
      // Asked for by name: a guest that cannot answer is unhealthy; in the all-guests run, a
      // guest without a check is simply not listed.
      const healthy = !g.healthCheck;
      results.push({ vmid: g.vmid, name: g.name, healthy, skipped: skipped ?? '' });
      if (!flags.json) out(`${g.vmid} ${g.name}: ${healthy ? 'no check' : 'UNHEALTHY'}: ${skipped}`);
      continue;
    }
    const r = await runHealthCheck(host, g, g.healthCheck, sleep, (l) => {
      if (!flags.json) out(`  ${l}`);
    });
    results.push(r);
    if (!flags.json) out(formatHealth(r));
  }
  if (flags.json) out(JSON.stringify({ results }, null, 2));
  else if (!results.length) out('no guest declares a healthCheck');
  if (results.some((r) => !r.healthy)) process.exitCode = 1;
}
