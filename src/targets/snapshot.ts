// `snapshot:<name>`: a lifecycle snapshot exists and was taken after the current stage it
// follows (config, features or app). The stage's inputs are part of the fingerprint, so editing
// a feature script makes the snapshot taken after it stale too; a stale one is deleted and
// taken again.
import type { Guest, SnapshotDecl } from '../dsl/model.js';
import type { Observation, StepContext, TargetContext } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import { must, reread, tool } from './common.js';
import { defineTarget, type Made } from './define.js';
import { provisioned, snapshotsAfter, up } from './stages.js';

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

function observe(ctx: TargetContext, snap: SnapshotDecl): Observation {
  if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  const section = ctx.gs.conf.snapshots[snap.name];
  if (!section) return { kind: 'missing', detail: `no snapshot '${snap.name}'` };
  // A snapshot task that was killed leaves `snapstate` in the section (and `lock: snapshot`).
  const state = section.props.snapstate;
  return state
    ? { kind: 'missing', detail: `snapshot '${snap.name}' was interrupted (snapstate: ${state})` }
    : { kind: 'ok' };
}

function describe(ctx: TargetContext, snap: SnapshotDecl): string {
  const g = ctx.guest;
  const section = ctx.gs?.conf.snapshots[snap.name];
  const t = tool(g);
  const clear = section?.props.snapstate
    ? `${t} unlock ${g.vmid}; ${t} delsnapshot ${g.vmid} ${snap.name} --force 1; `
    : section
      ? `${t} delsnapshot ${g.vmid} ${snap.name}; `
      : '';
  return `${clear}${t} snapshot ${g.vmid} ${snap.name}`;
}

async function run(ctx: StepContext, snap: SnapshotDecl) {
  const t = tool(ctx.guest);
  const id = String(ctx.guest.vmid);
  const section = ctx.gs?.conf.snapshots[snap.name];
  if (section?.props.snapstate) {
    // Left by a killed snapshot task (the runner holds this guest: no Phoenix step is
    // taking it now): release its lock, then remove the half-made snapshot whatever state
    // its volumes are in.
    if (ctx.gs?.lock === 'snapshot' || ctx.gs?.lock === 'snapshot-delete') await must(ctx, t, ['unlock', id]);
    await must(ctx, t, ['delsnapshot', id, snap.name, '--force', '1']);
  } else if (section) await must(ctx, t, ['delsnapshot', id, snap.name]);
  const args = ['snapshot', id, snap.name];
  if (snap.description) args.push('--description', snap.description);
  await must(ctx, t, args);
  const after = await reread(ctx);
  if (!after.conf.snapshots[snap.name])
    throw new StepError(`${t} snapshot ${id} ${snap.name} left no snapshot`);
  return { changed: true };
}

/** What the snapshots taken after `stage` wait for: the stage done. */
const stageDone: Record<SnapshotDecl['after'], (g: Guest, made: Made) => string[]> = {
  // After `running`, which applies what a running guest keeps pending: a mount point deleted on
  // a running CT stays in its config until the restart (pve-container LXC/Config.pm:1657-1700),
  // and a snapshot refuses a config that still holds a bind mount.
  config: (_g, made) => up(made),
  features: (g, made) => provisioned(g, made),
  app: (g, made) => (made.has('app') ? ['app'] : provisioned(g, made)),
};

/**
 * The snapshots taken after one stage: the registry lists this kind once per stage, each right
 * after the stage's own targets, so what comes next can wait for them.
 */
export const snapshotsTakenAfter = (stage: SnapshotDecl['after']) =>
  defineTarget<Guest, SnapshotDecl>({
    kind: 'snapshot',
    each: (g) => snapshotsAfter(g, stage),
    name: (snap) => snap.name,
    needs: (g, made) => stageDone[stage](g, made),
    // Said once, by the first of the three.
    warn: (g) =>
      stage === 'config' && g.template && g.snapshots.length
        ? `snapshots ${g.snapshots.map((s) => s.name).join(', ')} are not taken: Proxmox cannot convert a guest with snapshots to a template`
        : undefined,
    stamp: 'optional',
    inputs: (ctx, snap) => ({
      name: snap.name,
      description: snap.description,
      stage: stageInputs(ctx, ctx.guest, snap.after),
    }),
    scripts: (ctx, snap) => stageScripts(ctx, ctx.guest, snap.after),
    observe,
    describe: (ctx, _obs, snap) => describe(ctx, snap),
    apply: run,
  });
