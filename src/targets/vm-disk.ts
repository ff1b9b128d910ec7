// VM `disk`: the boot disk grows to the declared size (never shrinks).
import type { VmGuest } from '../dsl/model.js';
import { formatSize, GiB, parsePropertyString, parseSize } from '../pve/format/index.js';
import type { Observation, StepContext, Target, TargetContext } from '../runner/types.js';
import { StepError, targetId } from '../runner/types.js';
import { must, reread } from './common.js';

function diskSize(ctx: TargetContext): number | undefined {
  const scsi0 = ctx.gs?.current.props.scsi0;
  if (!scsi0) return undefined;
  const p = parsePropertyString(scsi0, 'file');
  return p.ok && p.value.size ? parseSize(p.value.size) : undefined;
}

function observe(ctx: TargetContext): Observation {
  const g = ctx.guest as VmGuest;
  if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  if (g.diskGb === undefined) return { kind: 'ok' };
  const have = diskSize(ctx);
  if (have === undefined) return { kind: 'missing', detail: 'VM has no scsi0 disk' };
  if (have < g.diskGb * GiB) {
    return {
      kind: 'drift',
      drifts: [{ field: 'scsi0.size', host: formatSize(have), declared: `${g.diskGb}G` }],
    };
  }
  return { kind: 'ok' };
}

async function run(ctx: StepContext) {
  const g = ctx.guest as VmGuest;
  if (observe(ctx).kind === 'ok' || g.diskGb === undefined) return { changed: false };
  await must(ctx, 'qm', ['resize', String(g.vmid), 'scsi0', `${g.diskGb}G`]);
  // `qm resize` exits 0 even when its task failed: check the size it left behind.
  const after = await reread(ctx);
  const size = diskSize({ ...ctx, gs: after }) ?? 0;
  if (size < g.diskGb * GiB)
    throw new StepError(`qm resize ${g.vmid} scsi0 ${g.diskGb}G left the disk at ${formatSize(size)}`);
  return { changed: true };
}

export function vmDiskTarget(g: VmGuest): Target {
  return {
    id: targetId('vm', g.vmid, 'disk'),
    guest: g.vmid,
    kind: 'vm',
    name: 'disk',
    deps: [targetId('vm', g.vmid, 'config')],
    stamp: 'none',
    inputs: () => ({ diskGb: g.diskGb }),
    scripts: () => [],
    observe,
    effect: (_c, obs) => (obs.kind === 'missing' ? 'create' : 'update'),
    describe: () => `qm resize ${g.vmid} scsi0 ${g.diskGb}G`,
    locks: () => [`guest:${g.vmid}`],
    run,
  };
}
