// Planning: the verdict of every selected target against a host state. The same function serves
// `--dry-run`, `explain`, `status` (prediction from one state read) and the scheduler (truth,
// re-evaluated on the live state right before each step runs).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config, Guest, Vmid } from '../dsl/model.js';
import { descriptionOf, type HostState } from '../pve/state.js';
import { type Fingerprint, fingerprint, formatFingerprint, sha256 } from './fingerprint.js';
import { effectOf, ownReasons, type Reason, type Verdict } from './staleness.js';
import { cloneSnapshotStage, heldAtSnapshot, inheritable, readStamps, sharedStamps } from './stamps.js';
import { type Target, type TargetContext, targetId } from './types.js';

/** Script contents are hashed once per run; a missing script hashes as `missing`. */
export class ScriptHasher {
  private readonly cache = new Map<string, string>();
  constructor(private readonly configFile: string) {}

  resolve(relative: string): string {
    return path.resolve(path.dirname(this.configFile), relative);
  }

  hash(relative: string): string {
    let h = this.cache.get(relative);
    if (h === undefined) {
      try {
        h = sha256(readFileSync(this.resolve(relative)));
      } catch {
        h = 'missing';
      }
      this.cache.set(relative, h);
    }
    return h;
  }
}

/** The context a target is judged in. A guest that does not exist yet but will be cloned carries its source's stamps (what a clone inherits). */
export function contextFor(
  config: Config,
  state: HostState,
  guest: Guest,
  predicted?: Map<Vmid, Record<string, string>>,
): TargetContext {
  const gs = state.guests.get(guest.vmid);
  let description = descriptionOf(gs);
  if (!gs && guest.cloneFrom !== undefined) description = descriptionOf(state.guests.get(guest.cloneFrom));
  if (!gs && guest.cloneFrom !== undefined) {
    // Planning ahead: a clone still to be made inherits what its source will have stamped by
    // then — as far as the snapshot it is cloned from holds that work.
    const stamps = readStamps(description, guest.vmid);
    const after = cloneSnapshotStage(config, guest);
    for (const [name, fp] of Object.entries(predicted?.get(guest.cloneFrom) ?? {})) {
      if (inheritable(name)) stamps.targets[name] = fp;
    }
    for (const name of Object.keys(stamps.targets))
      if (!heldAtSnapshot(name, after)) delete stamps.targets[name];
    return { config, guest, state, gs, stamps };
  }
  return { config, guest, state, gs, stamps: sharedStamps(description, guest.vmid) };
}

export function fingerprintOf(target: Target, ctx: TargetContext, hasher: ScriptHasher): Fingerprint {
  const scripts: Record<string, string> = {};
  for (const s of target.scripts(ctx)) scripts[s] = hasher.hash(s);
  return fingerprint(target.inputs(ctx), scripts);
}

export interface PlanRequest {
  config: Config;
  state: HostState;
  targets: Map<string, Target>;
  /** Target ids in dependency order (the selection). */
  order: string[];
  forced: Set<string>;
  hasher: ScriptHasher;
}

/** Judges one target on a state, without dependency reasons. */
export function judge(
  req: Omit<PlanRequest, 'order' | 'targets'>,
  target: Target,
  predicted?: Map<Vmid, Record<string, string>>,
): Verdict {
  const guest = req.config.guests.get(target.guest)!;
  const ctx = contextFor(req.config, req.state, guest, predicted);
  const fp = fingerprintOf(target, ctx, req.hasher);
  const { reasons, obs } = ownReasons(target, ctx, fp, req.forced.has(target.id));
  // The one-line step is read for stale targets only (and by `explain`): a no-op of a large
  // fleet described every fresh target (an `exists` description sizes the guest's volumes).
  let step: string | undefined;
  return {
    target: target.id,
    guest: target.guest,
    name: target.name,
    stale: reasons.length > 0,
    reasons,
    effect: effectOf(target, ctx, obs, reasons),
    get step() {
      step ??= target.describe(ctx, obs);
      return step;
    },
    set step(text: string) {
      step = text;
    },
    fingerprint: formatFingerprint(fp),
  };
}

/**
 * Why a target is stale because of what runs before it in this build (the one rule for the plan
 * and the scheduler), or `undefined`:
 * - service dependencies: a target that waits for another guest (`dependsOn`) is stale when that
 *   guest is created anew in this run — the service it relies on was rebuilt. Clone edges do not
 *   propagate (a rebuilt template does not rebuild its clones; `onSourceChange` is the policy);
 * - `staleAfter`: a target of its own guest named there runs (the plan: is stale; the scheduler:
 *   changed something), as `ran` says.
 */
export function dependencyStale(
  target: Target,
  targets: Map<string, Target>,
  renewed: Map<Vmid, string>,
  ran: (id: string) => boolean,
): string | undefined {
  if (target.name !== 'exists') {
    for (const d of target.deps) {
      const dep = targets.get(d);
      if (!dep || dep.guest === target.guest) continue;
      const by = renewed.get(dep.guest);
      if (by) return by;
    }
  }
  return (target.staleAfter ?? []).map((name) => targetId(target.kind, target.guest, name)).find(ran);
}

/**
 * Verdicts for the selection, predicted from one state. A guest that will be replaced makes all
 * of its other targets stale ("dependency ... will run"): the new guest starts from nothing.
 */
export function plan(req: PlanRequest): Map<string, Verdict> {
  const out = new Map<string, Verdict>();
  const replaced = new Map<Vmid, string>();
  const renewed = new Map<Vmid, string>();
  const predicted = new Map<Vmid, Record<string, string>>();
  for (const id of req.order) {
    const target = req.targets.get(id)!;
    const v = judge(req, target, predicted);
    const creating = renewed.has(target.guest) && !replaced.has(target.guest);
    const guest = req.config.guests.get(target.guest)!;
    if (creating && v.stale && target.coveredByCreate) {
      const ctx = contextFor(req.config, req.state, guest, predicted);
      if (v.reasons.every((r) => r.kind === 'missing') && target.coveredByCreate(ctx)) {
        v.stale = false;
        v.reasons = [];
      }
    }
    if (v.stale && target.stamp !== 'none') {
      predicted.set(target.guest, { ...(predicted.get(target.guest) ?? {}), [target.name]: v.fingerprint });
    }
    if (target.name === 'exists' && v.stale) renewed.set(target.guest, id);
    if (target.name === 'exists' && v.stale && v.effect === 'replace') replaced.set(target.guest, id);
    const by =
      replaced.get(target.guest) ??
      dependencyStale(target, req.targets, renewed, (d) => out.get(d)?.stale === true);
    if (by && by !== id) {
      const reason: Reason = { kind: 'dependency', target: by };
      v.reasons.push(reason);
      if (replaced.has(target.guest)) v.effect = 'create';
      else if (!v.stale) v.effect = req.state.guests.has(target.guest) ? 'update' : 'create';
      v.stale = true;
    }
    out.set(id, v);
  }
  return out;
}
