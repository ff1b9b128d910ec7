// Why a target is stale, in the order reasons are reported: forced; output missing; host drifted
// from the declaration; inputs changed since the stamp; a dependency will run. Pure functions
// over the target, the host state and the stamps: `explain`, `status`, `--dry-run` and the
// scheduler all ask the same questions here.
import type { Vmid } from '../dsl/model.js';
import { type Fingerprint, formatFingerprint, parseFingerprint } from './fingerprint.js';
import type { Drift, Effect, Observation, Target, TargetContext } from './types.js';

export type Reason =
  | { kind: 'forced' }
  | { kind: 'missing'; detail: string }
  | ({ kind: 'drifted' } & Drift)
  | { kind: 'inputs-changed'; what: 'declaration' | 'scripts' | 'declaration and scripts'; scripts: string[] }
  | { kind: 'dependency'; target: string };

export interface Verdict {
  target: string;
  guest: Vmid;
  name: string;
  stale: boolean;
  reasons: Reason[];
  effect: Effect;
  /** What the step would do, one line. */
  step: string;
  fingerprint: string;
}

export function formatReason(r: Reason): string {
  switch (r.kind) {
    case 'forced':
      return 'forced';
    case 'missing':
      return `missing: ${r.detail}`;
    case 'drifted':
      return `drifted: ${r.field}: ${r.host ?? '(unset)'} → ${r.declared ?? '(unset)'}${r.needsReplace ? ' (needs replace)' : r.needsRestart ? ' (needs restart)' : ''}`;
    case 'inputs-changed':
      return `inputs changed since the stamp: ${r.what}${r.scripts.length ? ` (${r.scripts.join(', ')})` : ''}`;
    case 'dependency':
      return `dependency changed: ${r.target} is (re)built in this run`;
  }
}

/** A reason as every JSON output shows it: its fields and its text. */
export type ReasonJson = Reason & { text: string };

/** A JSON-friendly copy of a reason with its text. */
export function reasonJson(r: Reason): ReasonJson {
  return { ...r, text: formatReason(r) };
}

/** The target's own reasons: everything except dependencies. */
export function ownReasons(
  target: Target,
  ctx: TargetContext,
  fp: Fingerprint,
  forced: boolean,
): { reasons: Reason[]; obs: Observation } {
  const reasons: Reason[] = [];
  if (forced) reasons.push({ kind: 'forced' });
  let obs = target.observe(ctx);
  const stamp = target.stamp === 'none' ? undefined : ctx.stamps.targets[target.name];
  if (obs.kind === 'ok' && target.stamp === 'required' && stamp === undefined) {
    obs = {
      kind: 'missing',
      detail: ctx.gs ? 'never ran on this guest (no stamp)' : 'guest does not exist yet',
    };
  }
  if (obs.kind === 'missing') reasons.push({ kind: 'missing', detail: obs.detail });
  if (obs.kind === 'drift') for (const d of obs.drifts) reasons.push({ kind: 'drifted', ...d });
  if (obs.kind === 'ok' && stamp !== undefined && stamp !== formatFingerprint(fp)) {
    const old = parseFingerprint(stamp);
    const declChanged = !old || old.decl !== fp.decl;
    const scriptsChanged = !old || old.scripts !== fp.scripts;
    reasons.push({
      kind: 'inputs-changed',
      what:
        declChanged && scriptsChanged
          ? 'declaration and scripts'
          : scriptsChanged
            ? 'scripts'
            : 'declaration',
      scripts: scriptsChanged ? target.scripts(ctx) : [],
    });
  }
  return { reasons, obs };
}

/** Effect of a step whose only reasons are dependencies (or forcing): what the step does on an up-to-date guest. */
export function effectOf(target: Target, ctx: TargetContext, obs: Observation, reasons: Reason[]): Effect {
  if (!ctx.gs) return 'create';
  if (reasons.some((r) => r.kind === 'drifted' && r.needsReplace)) return 'replace';
  if (reasons.some((r) => r.kind === 'inputs-changed') && target.name === 'exists') return 'replace';
  return target.effect(ctx, obs);
}
