// VM `agent`: the QEMU guest agent answers (provisioning runs through it). It comes up some
// time after boot, so the step polls `qm guest cmd <id> ping` until it answers.
import type { VmGuest } from '../dsl/model.js';
import type { Observation, StepContext, TargetContext } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import { defineTarget } from './define.js';
import { waitCloudInit } from './guest-exec.js';
import { bootsForTemplate, provisions } from './stages.js';

function observe(ctx: TargetContext): Observation {
  if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  if (ctx.gs.template) return { kind: 'ok' };
  // Without a ping per guest (a round trip each) the agent is assumed up on a running VM.
  return ctx.gs.status === 'running' ? { kind: 'ok' } : { kind: 'missing', detail: 'VM is not running' };
}

async function run(ctx: StepContext) {
  const id = String(ctx.guest.vmid);
  const waitS = ctx.limits.agentWaitS;
  const deadline = Date.now() + waitS * 1000;
  let last = '';
  for (;;) {
    ctx.signal?.throwIfAborted();
    const r = await ctx.host.read('qm', ['guest', 'cmd', id, 'ping']);
    if (r.exitCode === 0) {
      // Provisioning (or a template's clean-up) waits until cloud-init's first boot is over, or
      // it races cloud-init's own package runs — clones too: a template's cloud-init state is
      // wiped, so each clone's first boot runs it again, with `package_upgrade: true` by default
      // (`ciupgrade` defaults to 1, qemu-server QemuServer.pm:805-810, Cloudinit.pm:186), whose
      // apt holds the dpkg lock a feature script's apt-get needs.
      ctx.log(`$ qm guest exec ${id} -- cloud-init status --wait`);
      const ci = await waitCloudInit(ctx.host, ctx.guest.vmid);
      if (!ci.ok) throw new StepError(ci.error, `qm guest exec ${id} -- cloud-init status --wait`);
      return { changed: true };
    }
    last = r.stderr.trim();
    // A VM that is gone (destroyed meanwhile) will never answer: stop asking.
    // pve-guest-common src/PVE/AbstractConfig.pm:57 (load_config): "Configuration file '...' does not exist".
    if (/Configuration file .* does not exist/.test(last))
      throw new StepError(
        `VM ${id} is gone while waiting for its guest agent: ${last}`,
        `qm guest cmd ${id} ping`,
        last,
      );
    ctx.log(`waiting for the guest agent: ${last}`);
    if (Date.now() > deadline) break;
    // The host's clock: the simulator scales the pause like every simulated duration.
    await ctx.host.sleep(2);
  }
  throw new StepError(
    `guest agent of VM ${id} did not answer within ${waitS}s: ${last}`,
    `qm guest cmd ${id} ping`,
    last,
    { kind: 'timeout' },
  );
}

export const vmAgent = defineTarget<VmGuest>({
  kind: 'agent',
  guest: 'vm',
  when: (g) => provisions(g) || bootsForTemplate(g),
  needs: () => ['running'],
  warn: (g) =>
    provisions(g) && !g.agent ? 'provisioning a VM needs the guest agent (agent: true)' : undefined,
  stamp: 'none',
  // A VM started (or restarted) in this run has an agent that is not up yet, although the
  // state says `running`: wait for it again.
  staleAfter: ['running'],
  inputs: () => ({ agent: true }),
  observe,
  judge: () => 'update',
  describe: ({ guest: g }) => `qm guest cmd ${g.vmid} ping (until it answers); cloud-init status --wait`,
  apply: run,
});
