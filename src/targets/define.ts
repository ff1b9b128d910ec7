// A target kind in one place: `defineTarget` turns a kind's description — which guests get it,
// which of the guest's targets it waits for, how it observes, judges and applies — into the
// runner's `Target`s. `registry.ts` lists the kinds; adding one means writing its module and
// adding it to that list. The id, guest, kind, name and the guest's lock are filled in here.
import type { Config, Guest } from '../dsl/model.js';
import {
  type Effect,
  type Observation,
  type StampUse,
  type StepContext,
  type StepResult,
  type Target,
  type TargetContext,
  type TargetId,
  targetId,
} from '../runner/types.js';
import { kindOf } from './common.js';

/** The context of a target whose guest is a `G` (the registry gives a kind only its guests). */
export type Ctx<G extends Guest> = TargetContext & { guest: G };
export type StepCtx<G extends Guest> = StepContext & { guest: G };

/** The targets of one guest made so far (those before this kind in the registry's list). */
export class Made {
  constructor(readonly targets: readonly Target[]) {}

  has(name: string): boolean {
    return this.targets.some((t) => t.name === name);
  }

  /** The first of `names` the guest has, as a one-element list (none: empty). */
  first(...names: string[]): string[] {
    const found = names.find((n) => this.has(n));
    return found === undefined ? [] : [found];
  }

  /** The last made target whose name starts with `prefix`. */
  latest(prefix: string): string | undefined {
    return this.targets.findLast((t) => t.name.startsWith(prefix))?.name;
  }

  names(): string[] {
    return this.targets.map((t) => t.name);
  }

  /** The names nothing made waits for: "everything so far is built". */
  finals(): string[] {
    const ids = new Set(finals([...this.targets]));
    return this.targets.filter((t) => ids.has(t.id)).map((t) => t.name);
  }
}

/** The ids of targets nothing else of them waits for. */
export function finals(targets: readonly Target[]): TargetId[] {
  const needed = new Set<string>(targets.flatMap((t) => t.deps));
  return targets.filter((t) => !needed.has(t.id)).map((t) => t.id);
}

export interface TargetSpec<G extends Guest, I> {
  /** The target's name (`config`), or its prefix when a guest has several (`snapshot` → `snapshot:base`). */
  kind: string;
  /** Only guests of this kind get it. */
  guest?: G['kind'];
  /** Whether a guest gets the (one) target; default: every guest. */
  when?(g: G): boolean;
  /** One target per item (`each` + `name`), instead of one per guest. */
  each?(g: G): readonly I[];
  name?(item: I): string;
  /** Names of the guest's targets, made before this one, that it waits for. */
  needs(g: G, made: Made, item: I): string[];
  /** A warning about the guest's declaration, asked of every guest of the kind. */
  warn?(g: G): string | undefined;
  stamp: StampUse;
  /** The declaration slice that defines the output (hashed into the fingerprint). */
  inputs(ctx: Ctx<G>, item: I): unknown;
  /** Scripts (relative to the config file) whose contents are inputs; default none. */
  scripts?(ctx: Ctx<G>, item: I): string[];
  observe(ctx: Ctx<G>, item: I): Observation;
  /** The effect of applying now; default `judgeByObservation`. */
  judge?(ctx: Ctx<G>, obs: Observation, item: I): Effect;
  describe(ctx: Ctx<G>, obs: Observation, item: I): string;
  apply(ctx: StepCtx<G>, item: I): Promise<StepResult>;
  /** Resource keys held while applying; default the guest's own (`guest:<vmid>`). */
  locks?(ctx: Ctx<G>, item: I): string[];
  coveredByCreate?(ctx: Ctx<G>, item: I): boolean;
  staleAfter?: string[];
  /** Problems of the whole config that make a build of this kind impossible (plan problems). */
  preflight?(config: Config): string[];
  /** Work inside the guest: the first such target waits for the guest's services (`dependsOn`). */
  provisioning?: boolean;
}

/** A registered kind: its targets for a guest, and its plan problems. */
export interface TargetKind<I = unknown> {
  kind: string;
  provisioning: boolean;
  expand(g: Guest, made: Made, warnings: string[]): Target[];
  preflight(config: Config): string[];
  /** One target of this kind for `g`, outside any graph (no edges): for tests and tools. */
  of(g: Guest, item?: I): Target;
}

/** Missing: create; drift that waits for a restart: restart; otherwise an update. */
export function judgeByObservation(_ctx: TargetContext, obs: Observation): Effect {
  if (obs.kind === 'missing') return 'create';
  return obs.kind === 'drift' && obs.drifts.some((d) => d.needsRestart) ? 'restart' : 'update';
}

export function defineTarget<G extends Guest = Guest, I = undefined>(spec: TargetSpec<G, I>): TargetKind<I> {
  const judge = spec.judge ?? judgeByObservation;
  const make = (g: G, made: Made, item: I): Target => {
    const kind = kindOf(g);
    const name = spec.name ? `${spec.kind}:${spec.name(item)}` : spec.kind;
    // The runner judges a target in its own guest's context: the guest is this `G`.
    const c = (ctx: TargetContext) => ctx as Ctx<G>;
    const covered = spec.coveredByCreate;
    return {
      id: targetId(kind, g.vmid, name),
      guest: g.vmid,
      kind,
      name,
      deps: spec.needs(g, made, item).map((n) => targetId(kind, g.vmid, n)),
      stamp: spec.stamp,
      inputs: (ctx) => spec.inputs(c(ctx), item),
      scripts: (ctx) => spec.scripts?.(c(ctx), item) ?? [],
      observe: (ctx) => spec.observe(c(ctx), item),
      effect: (ctx, obs) => judge(c(ctx), obs, item),
      describe: (ctx, obs) => spec.describe(c(ctx), obs, item),
      locks: (ctx) => spec.locks?.(c(ctx), item) ?? [`guest:${g.vmid}`],
      run: (ctx) => spec.apply(ctx as StepCtx<G>, item),
      ...(covered ? { coveredByCreate: (ctx: TargetContext) => covered(c(ctx), item) } : {}),
      ...(spec.staleAfter ? { staleAfter: spec.staleAfter } : {}),
    };
  };
  return {
    kind: spec.kind,
    provisioning: spec.provisioning === true,
    expand(guest, made, warnings) {
      if (spec.guest !== undefined && guest.kind !== spec.guest) return [];
      const g = guest as G;
      const warning = spec.warn?.(g);
      if (warning) warnings.push(`guest ${g.vmid}: ${warning}`);
      const items: readonly I[] = spec.each ? spec.each(g) : spec.when?.(g) === false ? [] : [undefined as I];
      // Each item sees the ones before it (a chain of features).
      const out: Target[] = [];
      for (const item of items) out.push(make(g, new Made([...made.targets, ...out]), item));
      return out;
    },
    preflight: (config) => spec.preflight?.(config) ?? [],
    of: (g, item) => ({ ...make(g as G, new Made([]), item as I), deps: [] }),
  };
}
