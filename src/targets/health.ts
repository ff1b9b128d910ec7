// `health`: the guest's declared health check passed after its provisioning. It is the guest's
// last target, so a service dependent (`dependsOn`) starts provisioning only once this guest
// answers healthy. Its inputs include the stamps of the guest's creation and provisioning: when
// any of them is redone, the check runs again; otherwise a second build does not re-run it.
import type { Guest } from '../dsl/model.js';
import { formatHealth, healthArgs, runHealthCheck } from '../lifecycle/health.js';
import type { Observation, StepContext, Target, TargetContext, TargetId } from '../runner/types.js';
import { StepError, targetId } from '../runner/types.js';
import { kindOf, showCommand } from './common.js';

function builtStamps(ctx: TargetContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, fp] of Object.entries(ctx.stamps.targets))
    if (name === 'exists' || name === 'app' || name === 'volumes' || name.startsWith('feature:'))
      out[name] = fp;
  return out;
}

export function healthTarget(g: Guest, deps: TargetId[]): Target | undefined {
  const check = g.healthCheck;
  if (!check || g.template) return undefined;
  const kind = kindOf(g);
  return {
    id: targetId(kind, g.vmid, 'health'),
    guest: g.vmid,
    kind,
    name: 'health',
    deps,
    stamp: 'required',
    inputs: (ctx) => ({ check, built: builtStamps(ctx) }),
    scripts: () => [],
    observe: (ctx): Observation => {
      if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
      return { kind: 'ok' };
    },
    effect: () => 'update',
    describe: () => {
      const [cmd, args] = healthArgs(g, check);
      return `${showCommand(cmd, args)} (up to ${1 + check.retries} tries, ${check.intervalS}s apart)`;
    },
    locks: () => [`guest:${g.vmid}`],
    run: async (ctx: StepContext) => {
      // On the simulator waits scale like every simulated duration.
      const sleep = (s: number) => ctx.host.sleep(s);
      const r = await runHealthCheck(ctx.host, g, check, sleep, ctx.log);
      if (!r.healthy) throw new StepError(formatHealth(r), healthArgs(g, check).join(' '), r.output);
      ctx.log(formatHealth(r));
      return { changed: true };
    },
  };
}
