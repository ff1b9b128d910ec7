// LXC `storage`: the root disk grows to the declared size (never shrinks), bind mounts and ZFS
// volumes are attached as `mpN` in declaration order (bind mounts first). Host folders and
// owners are left to a later step (issue 6).
import type { LxcGuest } from '../dsl/model.js';
import { formatSize, GiB, parsePropertyString, parseSize } from '../pve/format/index.js';
import type { Drift, Observation, StepContext, Target, TargetContext } from '../runner/types.js';
import { StepError, targetId } from '../runner/types.js';
import { must, reread, showCommand } from './common.js';

interface MpWant {
  key: string;
  value: string;
  matches(host: Record<string, string>): boolean;
}

function mountPoints(g: LxcGuest): MpWant[] {
  const out: MpWant[] = [];
  let i = 0;
  for (const m of g.mounts) {
    out.push({
      key: `mp${i++}`,
      value: `${m.hostPath},mp=${m.path}${m.readOnly ? ',ro=1' : ''}`,
      matches: (h) => h.volume === m.hostPath && h.mp === m.path && (h.ro === '1') === !!m.readOnly,
    });
  }
  for (const z of g.zfsVolumes) {
    out.push({
      key: `mp${i++}`,
      value: `${z.storage}:${z.sizeGb},mp=${z.path}`,
      matches: (h) => (h.volume ?? '').startsWith(`${z.storage}:`) && h.mp === z.path,
    });
  }
  return out;
}

function rootfsSize(ctx: TargetContext): number | undefined {
  const rootfs = ctx.gs?.current.props.rootfs;
  if (!rootfs) return undefined;
  const p = parsePropertyString(rootfs, 'volume');
  return p.ok && p.value.size ? parseSize(p.value.size) : undefined;
}

function observe(ctx: TargetContext): Observation {
  const g = ctx.guest as LxcGuest;
  if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  const drifts: Drift[] = [];
  const have = rootfsSize(ctx);
  const want = g.rootfs.sizeGb * GiB;
  if (have !== undefined && have < want) {
    drifts.push({ field: 'rootfs.size', host: formatSize(have), declared: formatSize(want) });
  }
  for (const mp of mountPoints(g)) {
    const raw = ctx.gs.current.props[mp.key];
    const parsed = raw === undefined ? undefined : parsePropertyString(raw, 'volume');
    if (!parsed?.ok || !mp.matches(parsed.value))
      drifts.push({ field: mp.key, host: raw, declared: mp.value });
  }
  return drifts.length ? { kind: 'drift', drifts } : { kind: 'ok' };
}

function commands(ctx: TargetContext, obs: Observation): Array<[string, string[]]> {
  const g = ctx.guest as LxcGuest;
  const cmds: Array<[string, string[]]> = [];
  if (obs.kind !== 'drift') return cmds;
  if (obs.drifts.some((d) => d.field === 'rootfs.size'))
    cmds.push(['pct', ['resize', String(g.vmid), 'rootfs', `${g.rootfs.sizeGb}G`]]);
  const set: string[] = [];
  for (const d of obs.drifts)
    if (d.field.startsWith('mp') && d.declared) set.push(`--${d.field}`, d.declared);
  if (set.length) cmds.push(['pct', ['set', String(g.vmid), ...set]]);
  return cmds;
}

async function run(ctx: StepContext) {
  const g = ctx.guest as LxcGuest;
  const obs = observe(ctx);
  const cmds = commands(ctx, obs);
  for (const [cmd, args] of cmds) await must(ctx, cmd, args);
  const after = await reread(ctx);
  // `pct resize` exits 0 even when its task failed: check the size it left behind.
  const size = rootfsSize({ ...ctx, gs: after });
  if (cmds.some(([, a]) => a[0] === 'resize') && (size ?? 0) < g.rootfs.sizeGb * GiB) {
    throw new StepError(
      `pct resize ${g.vmid} rootfs ${g.rootfs.sizeGb}G did not grow the disk (size is ${formatSize(size ?? 0)})`,
    );
  }
  return { changed: cmds.length > 0 };
}

export function lxcStorageTarget(g: LxcGuest): Target {
  return {
    id: targetId('lxc', g.vmid, 'storage'),
    guest: g.vmid,
    kind: 'lxc',
    name: 'storage',
    deps: [targetId('lxc', g.vmid, g.idmap.length ? 'idmap' : 'config')],
    stamp: 'none',
    inputs: () => ({ rootfs: g.rootfs, mounts: g.mounts, zfsVolumes: g.zfsVolumes }),
    scripts: () => [],
    observe,
    effect: (_ctx, obs) => (obs.kind === 'missing' ? 'create' : 'update'),
    describe: (ctx, obs) =>
      commands(ctx, obs)
        .map(([c, a]) => showCommand(c, a))
        .join('; ') || `pct resize/set ${g.vmid} as needed (root disk, mount points)`,
    // `pct create --rootfs storage:size` makes the root disk, a clone copies its source's; mount
    // points come after.
    coveredByCreate: (ctx) => {
      if (g.mounts.length || g.zfsVolumes.length) return false;
      const src = g.cloneFrom === undefined ? undefined : ctx.config.guests.get(g.cloneFrom);
      return g.cloneFrom === undefined || (src?.kind === 'lxc' && src.rootfs.sizeGb >= g.rootfs.sizeGb);
    },
    locks: () => [`guest:${g.vmid}`],
    run,
  };
}
