// `snapshot:<name>`: a lifecycle snapshot exists and was taken after the current stage it
// follows (config, features or app). The stage's inputs are part of the fingerprint, so editing
// a feature script makes the snapshot taken after it stale too; a stale one is deleted and
// taken again.
import type { Guest, SnapshotDecl } from '../dsl/model.js';
import type { Observation, StepContext, Target, TargetContext, TargetId } from '../runner/types.js';
import { StepError, targetId } from '../runner/types.js';
import { kindOf, must, reread, tool } from './common.js';

function stageInputs(ctx: TargetContext, g: Guest, after: SnapshotDecl['after']): unknown {
  if (after === 'config') return { after };
  const features = g.features.map((f) => ({ f, decl: ctx.config.features[f], args: g.featureArgs ?? [] }));
  return after === 'features' ? { after, features } : { after, features, app: g.app };
}

function stageScripts(ctx: TargetContext, g: Guest, after: SnapshotDecl['after']): string[] {
  if (after === 'config') return [];
  const scripts = g.features.map((f) => ctx.config.features[f]?.script).filter((s): s is string => !!s);
  if (after === 'app' && g.app) scripts.push(g.app.script);
  return scripts;
}

export function snapshotTarget(g: Guest, snap: SnapshotDecl, deps: TargetId[]): Target {
  const kind = kindOf(g);
  const name = `snapshot:${snap.name}`;
  const observe = (ctx: TargetContext): Observation => {
    if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
    const section = ctx.gs.conf.snapshots[snap.name];
    if (!section) return { kind: 'missing', detail: `no snapshot '${snap.name}'` };
    // A snapshot task that was killed leaves `snapstate` in the section (and `lock: snapshot`).
    const state = section.props.snapstate;
    return state
      ? { kind: 'missing', detail: `snapshot '${snap.name}' was interrupted (snapstate: ${state})` }
      : { kind: 'ok' };
  };
  return {
    id: targetId(kind, g.vmid, name),
    guest: g.vmid,
    kind,
    name,
    deps,
    stamp: 'optional',
    inputs: (ctx) => ({
      name: snap.name,
      description: snap.description,
      stage: stageInputs(ctx, g, snap.after),
    }),
    scripts: (ctx) => stageScripts(ctx, g, snap.after),
    observe,
    effect: (_c, obs) => (obs.kind === 'missing' ? 'create' : 'update'),
    describe: (ctx) => {
      const section = ctx.gs?.conf.snapshots[snap.name];
      const t = tool(g);
      const clear = section?.props.snapstate
        ? `${t} unlock ${g.vmid}; ${t} delsnapshot ${g.vmid} ${snap.name} --force 1; `
        : section
          ? `${t} delsnapshot ${g.vmid} ${snap.name}; `
          : '';
      return `${clear}${t} snapshot ${g.vmid} ${snap.name}`;
    },
    locks: () => [`guest:${g.vmid}`],
    run: async (ctx: StepContext) => {
      const t = tool(g);
      const id = String(g.vmid);
      const section = ctx.gs?.conf.snapshots[snap.name];
      if (section?.props.snapstate) {
        // Left by a killed snapshot task (the runner holds this guest: no Phoenix step is
        // taking it now): release its lock, then remove the half-made snapshot whatever state
        // its volumes are in.
        if (ctx.gs?.lock === 'snapshot' || ctx.gs?.lock === 'snapshot-delete')
          await must(ctx, t, ['unlock', id]);
        await must(ctx, t, ['delsnapshot', id, snap.name, '--force', '1']);
      } else if (section) await must(ctx, t, ['delsnapshot', id, snap.name]);
      const args = ['snapshot', id, snap.name];
      if (snap.description) args.push('--description', snap.description);
      await must(ctx, t, args);
      const after = await reread(ctx);
      if (!after.conf.snapshots[snap.name])
        throw new StepError(`${t} snapshot ${id} ${snap.name} left no snapshot`);
      return { changed: true };
    },
  };
}
