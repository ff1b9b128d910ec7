// VM `disk`: the boot disk grows to the declared size (never shrinks).
import type { VmGuest } from '../dsl/model.js';
import { formatSize, GiB } from '../pve/format/index.js';
import type { Observation, TargetContext } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import { must, reread, volumeSize } from './common.js';
import { type Ctx, defineTarget, type StepCtx } from './define.js';

const diskSize = (ctx: TargetContext) => volumeSize(ctx.gs, 'scsi0', 'file');

function observe(ctx: Ctx<VmGuest>): Observation {
  const g = ctx.guest;
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

async function run(ctx: StepCtx<VmGuest>) {
  const g = ctx.guest;
  if (observe(ctx).kind === 'ok' || g.diskGb === undefined) return { changed: false };
  await must(ctx, 'qm', ['resize', String(g.vmid), 'scsi0', `${g.diskGb}G`]);
  // `qm resize` exits 0 even when its task failed: check the size it left behind.
  const after = await reread(ctx);
  const size = diskSize({ ...ctx, gs: after }) ?? 0;
  if (size < g.diskGb * GiB)
    throw new StepError(`qm resize ${g.vmid} scsi0 ${g.diskGb}G left the disk at ${formatSize(size)}`);
  return { changed: true };
}

export const vmDisk = defineTarget<VmGuest>({
  kind: 'disk',
  guest: 'vm',
  when: (g) => g.diskGb !== undefined,
  needs: () => ['config'],
  stamp: 'none',
  inputs: ({ guest: g }) => ({ diskGb: g.diskGb }),
  observe,
  describe: ({ guest: g }) => `qm resize ${g.vmid} scsi0 ${g.diskGb}G`,
  apply: run,
});
