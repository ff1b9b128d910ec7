// `node`: the guest is on its declared node. A guest whose node changed in the config is moved
// there by migration (`pct migrate [--restart]`, `qm migrate [--online [--with-local-disks]]`,
// chosen in placement.ts), never destroyed and re-created: its disks and stamps travel with it.
// A new guest is made on its node by `exists` (placeClone), so this step has nothing to do then.
import type { Observation, StepContext, TargetContext } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import { kindOf, must, nodeOf, tool } from './common.js';
import { defineTarget } from './define.js';
import { describeMigration, onNodeCtx, planMigration, storageFacts } from './placement.js';

function observe(ctx: TargetContext): Observation {
  const to = nodeOf(ctx);
  const gs = ctx.gs;
  if (!gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  if (gs.node === to) return { kind: 'ok' };
  return { kind: 'drift', drifts: [{ field: 'node', host: gs.node, declared: to }] };
}

function describe(ctx: TargetContext, obs: Observation): string {
  const g = ctx.guest;
  const to = nodeOf(ctx);
  if (obs.kind === 'ok') return `${g.vmid} is on ${to}`;
  if (!ctx.gs) return `${g.vmid} is made on ${to} (see ${tool(g)} in exists)`;
  return describeMigration(g.vmid, planMigration(ctx.gs, to, storageFacts(ctx.state)));
}

async function run(ctx: StepContext) {
  const g = ctx.guest;
  const to = nodeOf(ctx);
  const gs = ctx.gs;
  if (!gs) throw new StepError(`guest ${g.vmid} does not exist: nothing to migrate to ${to}`);
  if (gs.node === to) return { changed: false };
  const m = planMigration(gs, to, storageFacts(ctx.state));
  if (!m.ok) throw new StepError(describeMigration(g.vmid, m));
  await must(onNodeCtx(ctx, gs.node), m.cmd, m.args);
  const status = m.downtime === 'offline' ? 'stopped' : gs.status;
  const after = await ctx.host.readGuest(g.vmid, kindOf(g), to, status);
  if (!after)
    throw new StepError(`${m.cmd} ${m.args.join(' ')} returned, but ${g.vmid}'s config is not on ${to}`);
  return { changed: true, status };
}

export const node = defineTarget({
  kind: 'node',
  needs: () => ['exists'],
  stamp: 'none',
  inputs: (ctx) => ({ node: nodeOf(ctx) }),
  observe,
  judge: (ctx, obs) =>
    obs.kind === 'missing'
      ? 'create'
      : ctx.guest.kind === 'lxc' && ctx.gs?.status !== 'stopped'
        ? 'restart'
        : 'update',
  describe,
  // `exists` leaves a new guest on its declared node (placeClone): nothing left to move.
  coveredByCreate: () => true,
  locks: (ctx) => {
    const to = nodeOf(ctx);
    return [...new Set([`guest:${ctx.guest.vmid}`, `heavy:${ctx.gs?.node ?? to}`, `heavy:${to}`])];
  },
  apply: run,
});
