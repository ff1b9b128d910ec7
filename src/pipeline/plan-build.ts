// What `phoenix build` will do: the selected targets, the forced ones, and the plan made from one
// state read (after recovering the debris of killed Proxmox tasks), with the problems that would
// make it fail. Renders nothing; the CLI prints the plan, or hands it to the scheduler.
import type { Host } from '../pve/host.js';
import type { HostState } from '../pve/state.js';
import { placeholderProblems, planChecks, sourceWarnings } from '../runner/checks.js';
import type { PlanStep } from '../runner/events.js';
import { completeRead } from '../runner/lazy-read.js';
import { settleLocks } from '../runner/recovery.js';
import { guestNode } from '../runner/scheduler.js';
import { reasonJson, type Verdict } from '../runner/staleness.js';
import { type Result, targetId } from '../runner/types.js';
import { preflightProblems } from '../targets/registry.js';
import { type Engine, planFor, readState, resolveRefs, type StateRead, selection } from './engine.js';

export interface Choice {
  /** The targets to build, in dependency order. */
  selected: string[];
  /** Targets treated as stale whatever their state. */
  forced: Set<string>;
}

/**
 * What the scheduler needs of the engine and the plan (`execute()`'s request, less how to run:
 * host, jobs, policy, events): one place, for the CLI and any other caller.
 */
export function runInputs(engine: Engine, state: HostState, choice: Choice) {
  return {
    config: engine.config,
    state,
    targets: engine.targets,
    order: choice.selected,
    forced: choice.forced,
    hasher: engine.hasher,
  };
}

export interface ChoiceOptions {
  /** Guests or targets named on the command line (all when empty). */
  refs: string[];
  force: string[];
  alwaysMake?: boolean;
  allowReplace?: boolean;
}

/** The selection and the forced targets; a bad reference is an error naming it. */
export function chooseTargets(engine: Engine, opts: ChoiceOptions): Result<Choice, string> {
  const sel = selection(engine, opts.refs);
  if (!sel.ok) return sel;
  const selected = sel.value;
  // Forcing a whole guest re-runs its steps on the existing guest; re-creating it (forcing
  // `exists`) destroys it, so that needs --allow-replace or naming the target (103:exists).
  const keep = (id: string) => opts.allowReplace || !id.endsWith(':exists');
  const forced = new Set<string>(opts.alwaysMake ? selected.filter(keep) : []);
  for (const ref of opts.force) {
    const r = resolveRefs(engine, [ref]);
    if (!r.ok) return { ok: false, error: `--force: ${r.error}` };
    for (const id of r.value) if (keep(id) || ref.includes(':')) forced.add(id);
  }
  return { ok: true, value: { selected, forced } };
}

export interface PlanOptions {
  allowReplace?: boolean;
  dryRun?: boolean;
  /** Placeholder scripts are only a warning on the simulator (nothing real would run them). */
  placeholdersWarn?: boolean;
  /** How long to wait for killed Proxmox tasks' locks (the CLI reads PHOENIX_TASK_WAIT_MS). */
  taskWaitMs?: number;
  /** Lines about recovered debris, as they happen. */
  say: (line: string) => void;
}

export interface BuildPlan {
  read: StateRead;
  state: HostState;
  verdicts: Map<string, Verdict>;
  stale: Verdict[];
  steps: PlanStep[];
  /** Reasons the plan cannot succeed; a build does not start with any. */
  problems: string[];
  /** Said before the plan (forcing dropped), then the warnings. */
  notes: string[];
  warnings: string[];
}

export type PlanFailure = { kind: 'read'; message: string } | { kind: 'unsettled'; problems: string[] };

/**
 * Reads the host, recovers or refuses half-made guests, plans, and re-plans once forcing turns
 * out to mean re-creation (dropped without --allow-replace, extended to `exists` with it).
 * `choice.forced` is updated to what the build will really force.
 */
export async function planBuild(
  engine: Engine,
  host: Host,
  choice: Choice,
  opts: PlanOptions,
): Promise<Result<BuildPlan, PlanFailure>> {
  const { selected, forced } = choice;
  const cannotRead = (error: string): { ok: false; error: PlanFailure } => ({
    ok: false,
    error: { kind: 'read', message: `cannot read ${host.label}: ${error}` },
  });
  const read = await readState(engine, host, { lean: true });
  if (!read.ok) return cannotRead(read.error);
  // Debris of killed Proxmox tasks (a half-made guest under `lock: create`, a clone source
  // under `lock: disk`) is recovered before planning, or named and refused.
  const settled = await settleLocks(
    host,
    engine.config,
    read.value.state,
    new Set(selected.map((id) => engine.targets.get(id)!.guest)),
    {
      dryRun: !!opts.dryRun,
      say: opts.say,
      ...(opts.taskWaitMs !== undefined ? { waitMs: opts.taskWaitMs } : {}),
      reread: async () => {
        const again = await readState(engine, host, { lean: true });
        return again.ok ? { ok: true, value: again.value.state } : again;
      },
    },
  );
  if (!settled.ok) return { ok: false, error: { kind: 'unsettled', problems: settled.error } };
  const state = settled.value;
  const notes: string[] = [];
  const replan = () => planFor(engine, state, selected, forced);
  // Power states and storage contents are read only once a plan needs them.
  const completed = async (v: Map<string, Verdict>): Promise<Result<Map<string, Verdict>, string>> => {
    const more = await completeRead(host, engine.config, state, v);
    if (!more.ok) return more;
    return { ok: true, value: more.value ? replan() : v };
  };
  const first = await completed(replan());
  if (!first.ok) return cannotRead(first.error);
  let verdicts = first.value;
  if (!opts.allowReplace) {
    // Forcing work that only a re-creation can redo (provisioning of a converted template)
    // is dropped with a note rather than failing the plan.
    const onlyForced = [...verdicts.values()].filter(
      (v) => v.stale && v.effect === 'replace' && v.reasons.every((r) => r.kind === 'forced'),
    );
    for (const v of onlyForced) forced.delete(v.target);
    if (onlyForced.length) {
      notes.push(
        `not forcing ${onlyForced.map((v) => v.target).join(', ')}: redoing it means re-creating the guest (--allow-replace)`,
      );
      verdicts = replan();
    }
  } else {
    // A converted template cannot be provisioned again: rebuilding it means replacing it.
    const rebuild = [...verdicts.values()].filter(
      (v) => v.stale && v.effect === 'replace' && v.name !== 'exists',
    );
    for (const v of rebuild) forced.add(targetId(engine.targets.get(v.target)!.kind, v.guest, 'exists'));
    if (rebuild.length) verdicts = replan();
  }
  // Forcing may have added creations (contents) or steps on existing guests (live states).
  const again = await completed(verdicts);
  if (!again.ok) return cannotRead(again.error);
  verdicts = again.value;
  const stale = selected.map((id) => verdicts.get(id)!).filter((v) => v.stale);
  // A cluster: each step names the node its commands run on.
  const several = Object.keys(engine.config.nodes ?? {}).length > 1;
  const steps: PlanStep[] = stale.map((v) => ({
    target: v.target,
    guest: v.guest,
    ...(several ? { node: guestNode({ config: engine.config, state }, v.guest) } : {}),
    action: v.effect,
    step: v.step,
    reasons: v.reasons.map(reasonJson),
  }));
  const problems = offlineNotes(
    engine,
    state,
    planChecks(engine.config, state, verdicts, !!opts.allowReplace, preflightProblems(engine.config)),
    notes,
  );
  const warnings: string[] = [];
  for (const p of placeholderProblems(engine.config, verdicts))
    if (opts.placeholdersWarn) warnings.push(p);
    else problems.push(p);
  warnings.push(...sourceWarnings(engine.config, state, verdicts));
  return { ok: true, value: { read: read.value, state, verdicts, stale, steps, problems, notes, warnings } };
}

/**
 * A guest on a node the cluster reports offline cannot be checked (its storages are not listed):
 * its problems become notes, and the scheduler blocks its steps, naming the node, while the
 * other nodes' work runs.
 */
function offlineNotes(engine: Engine, state: HostState, problems: string[], notes: string[]): string[] {
  if (!state.offline?.size) return problems;
  const kept: string[] = [];
  for (const p of problems) {
    const vmid = Number(/^guest (\d+):/.exec(p)?.[1]);
    const node = Number.isNaN(vmid) ? undefined : guestNode({ config: engine.config, state }, vmid);
    const note = `${p} (node ${node} is offline: its steps are blocked)`;
    if (node && state.offline.has(node)) {
      if (!notes.includes(note)) notes.push(note);
    } else kept.push(p);
  }
  return kept;
}
