// LXC `storage`: the root disk grows to the declared size (never shrinks); bind mounts and ZFS
// volumes are attached as `mpN`. Host folders and owners are the `hostdirs` target's.
//
// Mount points are matched by their path in the container (`mp=`), not by position: adding or
// removing one must not renumber the others, because `--mpK <sid>:<GB>` on a key that holds
// another volume allocates a new empty volume and parks the old one as `unusedN` (pve-container
// LXC/Config.pm:1855-1894). A new one takes the lowest free `mpN`; one the config no longer
// declares is removed (`--delete mpN`; a volume becomes `unusedN`, its data kept).
import type { LxcGuest } from '../dsl/model.js';
import { formatSize, GiB, type PropMap, parsePropertyString } from '../pve/format/index.js';
import type { Drift, Observation, TargetContext } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import { must, reread, showCommand, volumeSize } from './common.js';
import { type Ctx, defineTarget, type StepCtx } from './define.js';

interface MpWant {
  /** Path inside the container: the mount point's identity. */
  path: string;
  value: string;
  matches(host: PropMap): boolean;
}

function mountPoints(g: LxcGuest): MpWant[] {
  const out: MpWant[] = [];
  for (const m of g.mounts) {
    out.push({
      path: m.path,
      value: `${m.hostPath},mp=${m.path}${m.readOnly ? ',ro=1' : ''}`,
      matches: (h) => h.volume === m.hostPath && (h.ro === '1') === !!m.readOnly,
    });
  }
  for (const z of g.zfsVolumes) {
    out.push({
      path: z.path,
      value: `${z.storage}:${z.sizeGb},mp=${z.path}`,
      matches: (h) => (h.volume ?? '').startsWith(`${z.storage}:`),
    });
  }
  return out;
}

/** One drift per mount point to add, change (same key) or delete (declared undefined). */
export function mountDrifts(g: LxcGuest, props: Record<string, string>): Drift[] {
  const host = new Map<string, { key: string; raw: string; parsed: PropMap | undefined }>();
  const keys = Object.keys(props).filter((k) => /^mp\d+$/.test(k));
  for (const key of keys) {
    const parsed = parsePropertyString(props[key]!, 'volume');
    const path = parsed.ok ? parsed.value.mp : undefined;
    host.set(path ?? `\0${key}`, { key, raw: props[key]!, parsed: parsed.ok ? parsed.value : undefined });
  }
  const drifts: Drift[] = [];
  const taken = new Set(keys);
  let next = 0;
  const freeKey = () => {
    while (taken.has(`mp${next}`)) next++;
    taken.add(`mp${next}`);
    return `mp${next}`;
  };
  const wanted = new Set<string>();
  for (const mp of mountPoints(g)) {
    wanted.add(mp.path);
    const have = host.get(mp.path);
    if (!have) drifts.push({ field: freeKey(), host: undefined, declared: mp.value });
    else if (!have.parsed || !mp.matches(have.parsed))
      drifts.push({ field: have.key, host: have.raw, declared: mp.value });
  }
  for (const [path, have] of host)
    if (!wanted.has(path)) drifts.push({ field: have.key, host: have.raw, declared: undefined });
  return drifts;
}

const rootfsSize = (ctx: TargetContext) => volumeSize(ctx.gs, 'rootfs', 'volume');

function observe(ctx: Ctx<LxcGuest>): Observation {
  const g = ctx.guest;
  if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  const drifts: Drift[] = [];
  const have = rootfsSize(ctx);
  const want = g.rootfs.sizeGb * GiB;
  if (have !== undefined && have < want) {
    drifts.push({ field: 'rootfs.size', host: formatSize(have), declared: formatSize(want) });
  }
  drifts.push(...mountDrifts(g, ctx.gs.current.props));
  return drifts.length ? { kind: 'drift', drifts } : { kind: 'ok' };
}

function commands(ctx: Ctx<LxcGuest>, obs: Observation): Array<[string, string[]]> {
  const g = ctx.guest;
  const cmds: Array<[string, string[]]> = [];
  if (obs.kind !== 'drift') return cmds;
  if (obs.drifts.some((d) => d.field === 'rootfs.size'))
    cmds.push(['pct', ['resize', String(g.vmid), 'rootfs', `${g.rootfs.sizeGb}G`]]);
  const set: string[] = [];
  const del: string[] = [];
  for (const d of obs.drifts) {
    if (!/^mp\d+$/.test(d.field)) continue;
    if (d.declared) set.push(`--${d.field}`, d.declared);
    else del.push(d.field);
  }
  if (del.length) set.push('--delete', del.join(','));
  if (set.length) cmds.push(['pct', ['set', String(g.vmid), ...set]]);
  return cmds;
}

async function run(ctx: StepCtx<LxcGuest>) {
  const g = ctx.guest;
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

export const lxcStorage = defineTarget<LxcGuest>({
  kind: 'storage',
  guest: 'lxc',
  // Bind-mount host folders exist with their owners before the mounts attach.
  needs: (_g, made) => [...made.first('idmap', 'config'), ...made.first('hostdirs')],
  stamp: 'none',
  inputs: ({ guest: g }) => ({ rootfs: g.rootfs, mounts: g.mounts, zfsVolumes: g.zfsVolumes }),
  observe,
  describe: (ctx, obs) =>
    commands(ctx, obs)
      .map(([c, a]) => showCommand(c, a))
      .join('; ') || `pct resize/set ${ctx.guest.vmid} as needed (root disk, mount points)`,
  // `pct create --rootfs storage:size` makes the root disk, a clone copies its source's; mount
  // points come after.
  coveredByCreate: (ctx) => {
    const g = ctx.guest;
    if (g.mounts.length || g.zfsVolumes.length) return false;
    const src = g.cloneFrom === undefined ? undefined : ctx.config.guests.get(g.cloneFrom);
    // A clone copies its source's volumes, which this guest may not declare.
    return (
      g.cloneFrom === undefined ||
      (src?.kind === 'lxc' && src.rootfs.sizeGb >= g.rootfs.sizeGb && src.zfsVolumes.length === 0)
    );
  },
  apply: run,
});
