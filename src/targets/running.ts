// `running`: the guest is started and has no changes waiting for a restart. A template is never
// left running: once converted, `running` holds trivially (its work is done).
import type { Observation, StepContext, TargetContext } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import { must, reread, shutdownArgs, tool } from './common.js';
import { defineTarget } from './define.js';
import { bootsForTemplate, configured, provisions } from './stages.js';

/**
 * What waits for the next start: the pending section, and for a VM the cloud-init changes
 * recorded in `[special:cloudinit]` — cloud-init keys are fast-plug (written to the config at
 * once, qemu-server QemuServer.pm:4594-4611, 4635-4706) but reach the guest only when the drive is
 * regenerated at start; a non-empty section is qemu-server's own test (Cloudinit.pm:691 `has_changes`).
 */
function pendingKeys(ctx: TargetContext): string[] {
  const p = ctx.gs?.conf.pending;
  const cloudinit = Object.keys(ctx.gs?.conf.special.cloudinit?.props ?? {}).map((k) => `cloud-init ${k}`);
  if (!p) return cloudinit;
  return [...Object.keys(p.props), ...p.lxc.map(([k]) => k), ...cloudinit];
}

function observe(ctx: TargetContext): Observation {
  const gs = ctx.gs;
  if (!gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  if (gs.template) return { kind: 'ok' };
  if (gs.status !== 'running')
    return { kind: 'missing', detail: `${gs.status === 'unknown' ? 'status unknown' : 'stopped'}` };
  const pending = pendingKeys(ctx);
  if (pending.length) {
    return {
      kind: 'drift',
      drifts: [
        { field: 'pending changes', host: pending.join(','), declared: 'applied', needsRestart: true },
      ],
    };
  }
  return { kind: 'ok' };
}

/**
 * `pct start` / `qm start` exit with their task's result (pve-container src/PVE/CLI/pct.pm:36-40,
 * 1118-1119; qemu-server src/PVE/CLI/qm.pm:47-51, 1413), and the task fails unless the guest came
 * up (a CT: `systemctl start pve-container@<id>` then the monitor's start report, pve-container
 * src/PVE/LXC.pm:3165-3180). Only an HA-managed guest's task merely asks the HA manager to start
 * it (`Requesting HA start for CT|VM <id>`, src/PVE/API2/LXC/Status.pm:166-177, qemu-server
 * src/PVE/API2/Qemu.pm:3631-3642): then its status is what says whether it runs.
 */
const HA_START = /^Requesting HA start for (CT|VM) \d+$/m;

async function checkRunning(ctx: StepContext, t: string, id: string) {
  const st = await ctx.host.read(t, ['status', id]);
  if (!/status:\s*running/.test(st.stdout)) {
    throw new StepError(
      `${t} start ${id} returned, but ${t} status says: ${st.stdout.trim() || st.stderr.trim()}`,
    );
  }
}

async function run(ctx: StepContext) {
  const g = ctx.guest;
  const obs = observe(ctx);
  const t = tool(g);
  const id = String(g.vmid);
  if (obs.kind === 'ok') return { changed: false, status: 'running' as const };
  if (obs.kind === 'drift') await must(ctx, t, shutdownArgs(id, ctx.limits.shutdownTimeoutS));
  const started = await must(ctx, t, ['start', id]);
  if (HA_START.test(started.stdout)) await checkRunning(ctx, t, id);
  await reread(ctx, 'running');
  return { changed: true, status: 'running' as const };
}

export const running = defineTarget({
  kind: 'running',
  // A template is started only to be provisioned (or prepared, see stages.ts) before it is converted.
  when: (g) => !g.template || provisions(g) || bootsForTemplate(g),
  needs: (_g, made) => configured(made),
  stamp: 'none',
  inputs: () => ({ running: true }),
  observe,
  judge: (_ctx, obs) => (obs.kind === 'drift' ? 'restart' : 'update'),
  describe: ({ guest: g }, obs) =>
    obs.kind === 'ok'
      ? `${tool(g)} status ${g.vmid} (running already: nothing to do)`
      : obs.kind === 'drift'
        ? `${tool(g)} shutdown ${g.vmid} --timeout N --forceStop 1; ${tool(g)} start ${g.vmid}`
        : `${tool(g)} start ${g.vmid}`,
  apply: run,
});
