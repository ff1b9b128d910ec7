// `template`: the guest is converted to a Proxmox template once everything else about it is
// built. Proxmox refuses a running guest, so it is shut down first. `pct template`/`qm template`
// exit 0 even when their task failed: the conversion is verified by re-reading the config.
import { parsePropertyString } from '../pve/format/index.js';
import type { GuestState } from '../pve/state.js';
import type { Observation, StepContext, TargetContext } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import { must, reread, tool } from './common.js';
import { defineTarget } from './define.js';
import { cleanForTemplate } from './guest-exec.js';

const VM_DISK = /^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$/;

/**
 * A VM's disks that `qm template` has not turned into `base-` volumes. Its worker sets
 * `template: 1` first and converts the disks after, so a failed or killed task leaves a
 * "template" whose linked clones fail (`Linked clone feature is not supported for ...vm-9000-disk-0`).
 */
export function unconvertedDisks(gs: GuestState): string[] {
  if (gs.kind !== 'vm') return [];
  const out: string[] = [];
  for (const [key, raw] of Object.entries(gs.conf.main.props)) {
    if (!VM_DISK.test(key)) continue;
    const p = parsePropertyString(raw, 'file');
    if (!p.ok || p.value.media === 'cdrom') continue;
    const file = p.value.file ?? '';
    const volname = /^[^:/\s]+:(.+)$/.exec(file)?.[1];
    if (!volname) continue; // `none`, or a path on the host: nothing to convert
    if (!/(^|\/)base-/.test(volname)) out.push(key);
  }
  return out.sort();
}

function observe(ctx: TargetContext): Observation {
  if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  if (!ctx.gs.template) return { kind: 'missing', detail: 'not converted to a template yet' };
  const left = unconvertedDisks(ctx.gs);
  return left.length
    ? { kind: 'missing', detail: `template: 1, but disks not converted to base volumes: ${left.join(', ')}` }
    : { kind: 'ok' };
}

async function run(ctx: StepContext) {
  const g = ctx.guest;
  const t = tool(g);
  const id = String(g.vmid);
  if (ctx.gs?.template) {
    // A conversion that stopped half-way: Proxmox converts the remaining disks one by one.
    const left = unconvertedDisks(ctx.gs);
    for (const key of left) await must(ctx, 'qm', ['template', id, '--disk', key]);
    if (left.length) await verifyBase(ctx, id);
    return { changed: left.length > 0, status: 'stopped' as const };
  }
  // The state's status is this run's read, kept current by its steps under the guest's lock:
  // only an unknown status costs a `status` call.
  const status = ctx.gs?.status;
  if (status === 'running' || (status !== 'stopped' && (await isRunning(ctx)))) await stopForTemplate(ctx);
  const r = await must(ctx, t, ['template', id]);
  const after = await reread(ctx, 'stopped');
  if (!after.template) {
    throw new StepError(
      `${t} template ${id} exited 0 but ${id} is not a template`,
      `${t} template ${id}`,
      r.stderr,
    );
  }
  if (g.kind === 'vm') await verifyBase(ctx, id);
  return { changed: true, status: 'stopped' as const };
}

async function isRunning(ctx: StepContext): Promise<boolean> {
  const st = await ctx.host.read(tool(ctx.guest), ['status', String(ctx.guest.vmid)]);
  return /status:\s*running/.test(st.stdout);
}

/**
 * Cleans (a VM with an agent) and shuts down a running guest. Should it have stopped meanwhile,
 * `pct shutdown` fails (`CT <id> not running`, pve-container src/PVE/API2/LXC/Status.pm:363) as
 * does the agent clean-up (`qm shutdown` has no such check), and a status read settles it.
 */
async function stopForTemplate(ctx: StepContext): Promise<void> {
  const g = ctx.guest;
  const t = tool(g);
  const id = String(g.vmid);
  try {
    if (g.kind === 'vm' && g.agent) {
      // Clones must not share machine-id, SSH host keys or cloud-init's instance state.
      ctx.log(`clean VM ${id} for a template (cloud-init clean, machine-id, SSH host keys)`);
      const clean = await cleanForTemplate(ctx.host, g.vmid);
      if (!clean.ok) throw new StepError(clean.error, `qm guest exec ${id} -- sh -c <template clean-up>`);
    }
    await must(ctx, t, ['shutdown', id, '--timeout', '60', '--forceStop', '1']);
  } catch (error) {
    // A stopped guest is what the conversion needs (as when the state had said stopped).
    if (await isRunning(ctx)) throw error;
  }
}

async function verifyBase(ctx: StepContext, id: string): Promise<void> {
  const left = unconvertedDisks(await reread(ctx, 'stopped'));
  if (left.length)
    throw new StepError(`qm template ${id} exited 0 but disks ${left.join(', ')} are not base volumes`);
}

export const template = defineTarget({
  kind: 'template',
  when: (g) => g.template,
  // Everything else about the guest is built first; it is not left running.
  needs: (_g, made) => made.names().filter((n) => n !== 'running'),
  stamp: 'none',
  inputs: () => ({ template: true }),
  observe,
  judge: () => 'update',
  describe: ({ guest: g, gs }) =>
    gs?.template
      ? unconvertedDisks(gs)
          .map((k) => `qm template ${g.vmid} --disk ${k}`)
          .join('; ') || `${g.vmid} is a template already (nothing to do)`
      : `${g.kind === 'vm' ? `clean ${g.vmid} for a template (cloud-init, machine-id, SSH host keys); ` : ''}${tool(g)} shutdown ${g.vmid} (if running); ${tool(g)} template ${g.vmid}`,
  apply: run,
});
