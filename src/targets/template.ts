// `template`: the guest is converted to a Proxmox template once everything else about it is
// built. Proxmox refuses a running guest, so it is shut down first. `pct template`/`qm template`
// exit 0 even when their task failed: the conversion is verified by re-reading the config.
import type { Guest } from '../dsl/model.js';
import { cleanForTemplate } from '../lifecycle/vm-template.js';
import type { Observation, StepContext, Target, TargetContext } from '../runner/types.js';
import { StepError, targetId } from '../runner/types.js';
import { kindOf, must, reread, tool } from './common.js';

function observe(ctx: TargetContext): Observation {
  if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  return ctx.gs.template ? { kind: 'ok' } : { kind: 'missing', detail: 'not converted to a template yet' };
}

async function run(ctx: StepContext) {
  const g = ctx.guest;
  const t = tool(g);
  const id = String(g.vmid);
  if (ctx.gs?.template) return { changed: false };
  if (ctx.gs?.status !== 'stopped') {
    const st = await ctx.host.read(t, ['status', id]);
    if (/status:\s*running/.test(st.stdout)) {
      if (g.kind === 'vm' && g.agent) {
        // Clones must not share machine-id, SSH host keys or cloud-init's instance state.
        ctx.log(`clean VM ${id} for a template (cloud-init clean, machine-id, SSH host keys)`);
        const clean = await cleanForTemplate(ctx.host, g.vmid);
        if (!clean.ok) throw new StepError(clean.error, `qm guest exec ${id} -- sh -c <template clean-up>`);
      }
      await must(ctx, t, ['shutdown', id, '--timeout', '60', '--forceStop', '1']);
    }
  }
  const r = await must(ctx, t, ['template', id]);
  const after = await reread(ctx, 'stopped');
  if (!after.template) {
    throw new StepError(
      `${t} template ${id} exited 0 but ${id} is not a template`,
      `${t} template ${id}`,
      r.stderr,
    );
  }
  return { changed: true, status: 'stopped' as const };
}

export function templateTarget(g: Guest, deps: string[]): Target {
  const kind = kindOf(g);
  return {
    id: targetId(kind, g.vmid, 'template'),
    guest: g.vmid,
    kind,
    name: 'template',
    deps,
    stamp: 'none',
    inputs: () => ({ template: true }),
    scripts: () => [],
    observe,
    effect: () => 'update',
    describe: () =>
      `${g.kind === 'vm' ? `clean ${g.vmid} for a template (cloud-init, machine-id, SSH host keys); ` : ''}${tool(g)} shutdown ${g.vmid} (if running); ${tool(g)} template ${g.vmid}`,
    locks: () => [`guest:${g.vmid}`],
    run,
  };
}
