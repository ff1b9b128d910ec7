// LXC `hostdirs`: the host folders behind a container's bind mounts exist with the owner the
// container will see (see hostdirs.ts for the id shifting). Runs before `storage` attaches the
// mounts. Observed on the host when the bulk read fetched the owners (`state.hostDirs`, one
// `stat` for the whole fleet); otherwise judged by its stamp (the declared folders and owners).
import type { LxcGuest } from '../dsl/model.js';
import type { HostState } from '../pve/state.js';
import type { Observation, StepContext, Target, TargetContext, TargetId } from '../runner/types.js';
import { StepError, targetId } from '../runner/types.js';
import { declaredHostDirs, ensureHostDirs, type HostOwner, hostDirDrifts } from './hostdirs.js';

/** Owners the bulk read fetched, when it did (an optional part of the host state). */
export function hostDirsOf(state: HostState): Map<string, HostOwner> | undefined {
  return (state as HostState & { hostDirs?: Map<string, HostOwner> }).hostDirs;
}

export function hostDirsTarget(g: LxcGuest, deps: TargetId[]): Target | undefined {
  if (!g.mounts.length) return undefined;
  return {
    id: targetId('lxc', g.vmid, 'hostdirs'),
    guest: g.vmid,
    kind: 'lxc',
    name: 'hostdirs',
    deps,
    stamp: 'optional',
    inputs: () => ({
      dirs: declaredHostDirs(g).map((d) => `${d.path} ${d.uid}:${d.gid}${d.declared ? '' : '?'}`),
    }),
    scripts: () => [],
    observe: (ctx: TargetContext): Observation => {
      if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
      const owners = hostDirsOf(ctx.state);
      if (!owners) {
        // Not observable from this read: the stamp decides (no stamp = never made).
        return ctx.stamps.targets.hostdirs
          ? { kind: 'ok' }
          : { kind: 'missing', detail: 'host folders not made yet' };
      }
      const drifts = hostDirDrifts(g, owners);
      return drifts.length ? { kind: 'drift', drifts } : { kind: 'ok' };
    },
    effect: (_ctx, obs) => (obs.kind === 'missing' ? 'create' : 'update'),
    describe: () =>
      `mkdir -p / chown the host folders: ${declaredHostDirs(g)
        .map((d) => `${d.path} (${d.uid}:${d.gid})`)
        .join(', ')}`,
    locks: () => [`guest:${g.vmid}`, 'host:dirs'],
    run: async (ctx: StepContext) => {
      // The state read (kept current by earlier hostdirs steps under `host:dirs`) knows the owners.
      const known = hostDirsOf(ctx.state);
      const r = await ensureHostDirs(ctx.host, g, ctx.log, known);
      // Other guests sharing a folder are judged on the state read before this step: update it.
      if (known) for (const [p, o] of r.owners) known.set(p, o);
      if (r.error) throw new StepError(r.error);
      if (r.left.length) {
        throw new StepError(
          `host folders of ${g.vmid} still differ after mkdir/chown: ${r.left.map((d) => `${d.field}: ${d.host} (want ${d.declared})`).join('; ')}`,
        );
      }
      return { changed: r.changed };
    },
  };
}
