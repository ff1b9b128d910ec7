// Executes the selection: a ready queue over the DAG with `-j N` slots, resource locks that
// mirror Proxmox's own (one mutating step per guest; a CT clone also holds its source; heavy
// storage steps per node are capped), critical-path-first priority from earlier durations,
// retries with backoff for lock time-outs, a failure policy, and a graceful Ctrl-C. Each target
// is judged again on the live state right before it runs, so work a dependency made unnecessary
// (a clone inheriting its template's stamps) is skipped.
import { readFile } from 'node:fs/promises';
import type { Config, Vmid } from '../dsl/model.js';
import { forgetBirths } from '../pve/births.js';
import { isTransient, type StepFailure } from '../pve/failure.js';
import type { Host } from '../pve/host.js';
import type { HostState } from '../pve/state.js';
import { descriptionOf } from '../pve/state.js';
import { lostText } from './checks.js';
import type { BuildEvent, Emit, FailureInfo } from './events.js';
import type { History } from './history.js';
import { dependencyStale, judge, type ScriptHasher } from './plan.js';
import { formatReason, reasonJson } from './staleness.js';
import { readStamps, StampBatch, sharedStamps, splitDescription, writeStamps } from './stamps.js';
import {
  DEFAULT_STEP_LIMITS,
  type Sleep,
  type StepContext,
  StepError,
  type StepHost,
  type StepLimits,
  sleeper,
  type Target,
  targetId,
} from './types.js';

export type FailurePolicy = 'no-new' | 'continue';

/** The scheduler's knobs and the steps' limits; the CLI reads them from the environment (cli/engine.ts `schedulerTuning`). */
export interface Tuning extends StepLimits {
  /** Heavy storage steps at once per node (PHOENIX_HEAVY_SLOTS). */
  heavySlots: number;
  /** First pause before retrying a transient failure, doubled per attempt (PHOENIX_RETRY_BASE_MS). */
  retryBaseMs: number;
  /** Print the stack of an unexpected exception (PHOENIX_DEBUG). */
  debug: boolean;
}

export const DEFAULT_TUNING: Tuning = {
  heavySlots: 2,
  retryBaseMs: 2000,
  debug: false,
  ...DEFAULT_STEP_LIMITS,
};

export interface Interrupt {
  requested: boolean;
  /** Aborted on the first Ctrl-C: polling waits (the guest agent) stop; Proxmox commands run on. */
  signal?: AbortSignal;
}

export interface ExecuteRequest {
  config: Config;
  /** The live state: updated as steps change the host. */
  state: HostState;
  targets: Map<string, Target>;
  /** Selected target ids in dependency order. */
  order: string[];
  forced: Set<string>;
  hasher: ScriptHasher;
  host: Host;
  /** Steps at once on each node (`-j`): a cluster runs `jobs` per node. */
  jobs: number;
  policy: FailurePolicy;
  allowReplace: boolean;
  history: History;
  emit: Emit;
  interrupt: Interrupt;
  tuning: Tuning;
  /** The host's clock for steps that wait (the simulator scales it); real seconds when absent. */
  sleep?: Sleep;
}

export interface ExecuteResult {
  built: string[];
  fresh: string[];
  failed: FailureInfo[];
  blocked: string[];
  notStarted: string[];
  interrupted: boolean;
  /** Nodes found unreachable (offline in the state read, or a command's transport failed): their guests were blocked. */
  nodesDown: Array<{ node: string; reason: string }>;
}

/**
 * The build's last event. The scheduler judges every selected target (fresh ones too), so its
 * count is the whole answer; without a run (nothing stale) every selected target is fresh.
 */
export function buildSummary(
  result: ExecuteResult | undefined,
  selected: number,
  run: { ms: number; hostCalls: { reads: number; writes: number }; interrupted: boolean },
): Extract<BuildEvent, { type: 'summary' }> {
  return {
    type: 'summary',
    built: result?.built ?? [],
    fresh: result ? result.fresh.length : selected,
    failed: result?.failed ?? [],
    blocked: result?.blocked ?? [],
    notStarted: result?.notStarted ?? [],
    ms: run.ms,
    hostCalls: { ...run.hostCalls },
    interrupted: result?.interrupted ?? run.interrupted,
    ...(result?.nodesDown.length ? { nodesDown: result.nodesDown } : {}),
  };
}

/** Why a node's guests are blocked: the state read saw it offline, or a command could not reach it. */
function downNodes(req: ExecuteRequest): Map<string, string> {
  const down = new Map<string, string>();
  for (const n of req.state.offline ?? []) down.set(n, 'offline in the cluster (/cluster/resources)');
  for (const [n, why] of req.host.downNodes) down.set(n, why);
  return down;
}

function capacity(key: string, tuning: Tuning): number {
  return key.startsWith('heavy:') ? tuning.heavySlots : 1;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function execute(req: ExecuteRequest): Promise<ExecuteResult> {
  const selected = new Set(req.order);
  const dependents = new Map<string, string[]>();
  const waiting = new Map<string, number>();
  for (const id of req.order) {
    const deps = req.targets.get(id)!.deps.filter((d) => selected.has(d));
    waiting.set(id, deps.length);
    for (const d of deps) dependents.set(d, [...(dependents.get(d) ?? []), id]);
  }
  // Critical path first: a target's priority is its own expected time plus its longest chain of dependents.
  const priority = new Map<string, number>();
  for (const id of [...req.order].reverse()) {
    const tail = Math.max(0, ...(dependents.get(id) ?? []).map((d) => priority.get(d) ?? 0));
    priority.set(id, req.history.estimate(id) + tail);
  }

  const result: ExecuteResult = {
    built: [],
    fresh: [],
    failed: [],
    blocked: [],
    notStarted: [],
    interrupted: false,
    nodesDown: [],
  };
  const nodeOfTarget = (id: string) => guestNode(req, req.targets.get(id)!.guest);
  /** A step of a guest on an unreachable node: blocked with the node's reason, not failed; other nodes go on. */
  const nodeBlocked = (id: string): string | undefined => {
    const node = nodeOfTarget(id);
    const why = downNodes(req).get(node);
    return why === undefined ? undefined : `node ${node} (unreachable: ${why})`;
  };
  const runningOn = new Map<string, number>();
  const finished = new Set<string>();
  const ready: string[] = req.order.filter((id) => waiting.get(id) === 0);
  const held = new Map<string, number>();
  const running = new Map<string, Promise<void>>();
  let stopNew = false;

  const locksFree = (keys: string[]) => keys.every((k) => (held.get(k) ?? 0) < capacity(k, req.tuning));
  const take = (keys: string[]) => {
    for (const k of keys) held.set(k, (held.get(k) ?? 0) + 1);
  };
  const release = (keys: string[]) => {
    for (const k of keys) held.set(k, (held.get(k) ?? 1) - 1);
  };

  const complete = (id: string) => {
    finished.add(id);
    for (const d of dependents.get(id) ?? []) {
      const n = (waiting.get(d) ?? 1) - 1;
      waiting.set(d, n);
      if (n === 0) ready.push(d);
    }
  };
  const block = (id: string, because: string) => {
    for (const d of dependents.get(id) ?? []) {
      if (finished.has(d)) continue;
      finished.add(d);
      result.blocked.push(d);
      req.emit({ type: 'blocked', target: d, guest: req.targets.get(d)!.guest, because });
      block(d, because);
    }
  };

  const lockKeys = (t: Target) => t.locks(ctxOf(req, t));
  const blockOnNode = (id: string, because: string) => {
    finished.add(id);
    result.blocked.push(id);
    req.emit({ type: 'blocked', target: id, guest: req.targets.get(id)!.guest, because });
    block(id, because);
  };

  // Stamps of finished targets not yet written (guest → target name → fingerprint): a guest's
  // consecutive steps share one `pct|qm set --description` (stamps.ts `StampBatch`).
  const stamps = new StampBatch((vmid, entries) => writeStampSet(req, vmid, entries));
  /** Whether the stamps of `id`'s guest must be written now, before its dependents may start. */
  const flushAfter = (id: string): boolean => {
    const t = req.targets.get(id)!;
    if (stopNew || req.interrupt.requested) return true;
    const next = (dependents.get(id) ?? []).map((d) => req.targets.get(d)!);
    // Another guest relies on this one (a clone copies its Notes, a service waits for it).
    if (next.some((d) => d.guest !== t.guest)) return true;
    // Keep batching only while another step of this guest runs right after this one.
    const soon = (d: string) => req.targets.get(d)!.guest === t.guest;
    return !(next.some((d) => waiting.get(d.id) === 1) || ready.some(soon));
  };

  // Guests created anew in this run: their service dependents must provision again.
  const renewed = new Map<Vmid, string>();
  // Targets whose step changed something in this run (for `staleAfter`).
  const changedIds = new Set<string>();

  const runOne = async (id: string, keys: string[]) => {
    const target = req.targets.get(id)!;
    const began = Date.now();
    try {
      const down = nodeBlocked(id);
      if (down) {
        blockOnNode(id, down);
        return;
      }
      const verdict = judge(req, target);
      const by = dependencyStale(target, req.targets, renewed, (d) => changedIds.has(d));
      if (by) {
        verdict.reasons.push({ kind: 'dependency', target: by });
        verdict.stale = true;
      }
      if (!verdict.stale) {
        // Stamps waiting from earlier steps of this guest: written before another guest relies on it.
        if (flushAfter(id)) await stamps.flush(target.guest);
        result.fresh.push(id);
        req.emit({ type: 'fresh', target: id, guest: target.guest });
        complete(id);
        return;
      }
      // A clone holds its source's lock and copies its Notes: they must be complete. A template
      // conversion ends provisioning for good: a stamp lost after it could not be redone.
      for (const k of keys) {
        const other = /^guest:(\d+)$/.exec(k);
        if (other && Number(other[1]) !== target.guest) await stamps.flush(Number(other[1]));
      }
      if (target.name === 'template') await stamps.flush(target.guest);
      if (verdict.effect === 'replace' && !req.allowReplace) {
        throw new StepError(
          `${id} needs to replace guest ${target.guest} (${verdict.reasons.map(formatReason).join('; ')})${lostText(req.state, target.guest)}; run with --allow-replace to destroy and re-create it`,
        );
      }
      const eta = req.history.known(id) ? req.history.estimate(id) : undefined;
      req.emit({
        type: 'start',
        target: id,
        guest: target.guest,
        action: verdict.effect,
        step: verdict.step,
        reasons: verdict.reasons.map(reasonJson),
        ...(eta !== undefined ? { etaMs: eta } : {}),
      });
      const started = Date.now();
      let changed = false;
      for (let attempt = 1; ; attempt++) {
        try {
          const last = { reread: false };
          const ctx = stepContext(req, target, verdict.fingerprint, last);
          const r = await target.run(ctx);
          changed = r.changed;
          // A step that ended by re-reading its guest left the state current: no second read.
          if (last.reread) setStatus(req, target.guest, r.status);
          else await refresh(req, target.guest, r.status);
          break;
        } catch (error) {
          const msg = error instanceof Error ? error.message : String(error);
          const failure = failureOf(error);
          if (attempt >= 4 || !isTransient(failure) || req.interrupt.requested) throw error;
          const delay = req.tuning.retryBaseMs * 2 ** (attempt - 1);
          req.emit({ type: 'retry', target: id, attempt, delayMs: delay, error: msg, reason: failure.kind });
          await sleep(delay);
          await refresh(req, target.guest);
        }
      }
      if (target.stamp !== 'none') stamps.add(target.guest, target.name, verdict.fingerprint);
      if (flushAfter(id)) await stamps.flush(target.guest);
      const ms = Date.now() - started;
      req.history.record(id, ms);
      result.built.push(id);
      if (changed) changedIds.add(id);
      if (target.name === 'exists') renewed.set(target.guest, id);
      req.emit({ type: 'done', target: id, guest: target.guest, changed, ms });
      complete(id);
    } catch (error) {
      if (req.interrupt.signal?.aborted && isAbort(error)) {
        // Given up on a Ctrl-C while waiting, not failed: left out of `finished`, so it counts
        // as not started and a re-run does it.
        req.emit({ type: 'stopped', target: id, guest: target.guest, ms: Date.now() - began });
        return;
      }
      const info: FailureInfo = {
        target: id,
        guest: target.guest,
        error: error instanceof Error ? error.message : String(error),
        reason: failureOf(error).kind,
        stderrTail: error instanceof StepError ? tail(error.stderr ?? '') : '',
        ...(error instanceof StepError && error.command ? { command: error.command } : {}),
      };
      // The guest's earlier steps did succeed: record them (a stamp never claims this one).
      stamps.drop(target.guest, target.name);
      const lost = await stamps.flush(target.guest).then(
        () => '',
        (e: unknown) =>
          `; recording the stamps of earlier steps failed too: ${e instanceof Error ? e.message : e}`,
      );
      if (lost) info.error += lost;
      if (!(error instanceof StepError) && req.tuning.debug) console.error(error);
      const unreachable = nodeBlocked(id);
      if (unreachable) {
        // The node went away under the step: whether the command ran is unknown; a re-run judges it again.
        blockOnNode(id, unreachable);
        return;
      }
      result.failed.push(info);
      finished.add(id);
      req.emit({ type: 'fail', ms: Date.now() - began, ...info });
      block(id, id);
      if (req.policy === 'no-new') stopNew = true;
    } finally {
      release(keys);
    }
  };

  for (;;) {
    if (req.interrupt.requested) stopNew = true;
    for (;;) {
      if (stopNew) break;
      ready.sort((a, b) => (priority.get(b) ?? 0) - (priority.get(a) ?? 0));
      // `-j` slots per node: one node's long steps never starve another's.
      const idx = ready.findIndex(
        (id) =>
          (runningOn.get(nodeOfTarget(id)) ?? 0) < req.jobs && locksFree(lockKeys(req.targets.get(id)!)),
      );
      if (idx < 0) break;
      const id = ready.splice(idx, 1)[0]!;
      const keys = lockKeys(req.targets.get(id)!);
      const node = nodeOfTarget(id);
      take(keys);
      runningOn.set(node, (runningOn.get(node) ?? 0) + 1);
      const p = runOne(id, keys).finally(() => {
        running.delete(id);
        runningOn.set(node, (runningOn.get(node) ?? 1) - 1);
      });
      running.set(id, p);
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  // Steps that never started (a failure elsewhere, Ctrl-C) left their guest's stamps waiting.
  for (const [vmid, names] of stamps.waiting()) {
    try {
      await stamps.flush(vmid);
    } catch (error) {
      const t = [...req.targets.values()].find((x) => x.guest === vmid && x.name === names[0]);
      result.failed.push({
        target: t?.id ?? String(vmid),
        guest: vmid,
        error: error instanceof Error ? error.message : String(error),
        reason: failureOf(error).kind,
        stderrTail: error instanceof StepError ? tail(error.stderr ?? '') : '',
      });
    }
  }
  // The guests made in this run are made: their birth records go, all in one call (births.ts).
  await forgetBirths(
    (c, a) => req.host.run(c, a),
    (p) => req.host.runner.mapPath(p),
    renewed.keys(),
  );
  result.interrupted = req.interrupt.requested;
  const downNow = downNodes(req);
  const used = new Set(req.order.map(nodeOfTarget));
  result.nodesDown = [...downNow].filter(([n]) => used.has(n)).map(([node, reason]) => ({ node, reason }));
  result.notStarted = req.order.filter((id) => !finished.has(id));
  return result;
}

/** Why a step failed: a step's own word, else an abort or an unexpected exception. */
function failureOf(error: unknown): StepFailure {
  if (error instanceof StepError) return error.failure;
  return isAbort(error) ? { kind: 'interrupted' } : { kind: 'unexpected' };
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function tail(text: string, n = 8): string {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .slice(-n)
    .join('\n');
}

function ctxOf(req: ExecuteRequest, t: Target) {
  const guest = req.config.guests.get(t.guest)!;
  const gs = req.state.guests.get(t.guest);
  return {
    config: req.config,
    guest,
    state: req.state,
    gs,
    stamps: sharedStamps(descriptionOf(gs), t.guest),
  };
}

/** The node a guest's commands go to: where it is now, else where it is declared. */
export function guestNode(req: { config: Config; state: HostState }, vmid: Vmid): string {
  return req.state.guests.get(vmid)?.node ?? req.config.guests.get(vmid)?.node ?? req.config.node;
}

/**
 * The host as a step sees it, on `node` (the guest's own; `on(other)` for a clone's source or a
 * migration's target). `last.reread` says whether the step's last host call re-read its own
 * guest (then the state is current when it ends).
 */
function stepHost(req: ExecuteRequest, target: Target, node: string, last: { reread: boolean }): StepHost {
  const h = req.host.on(node);
  const acts = <T>(p: () => Promise<T>): Promise<T> => {
    last.reread = false;
    return p();
  };
  return {
    node,
    on: (other) => stepHost(req, target, other, last),
    run: (cmd, args, opts) => acts(() => h.run(cmd, args, opts)),
    read: (cmd, args) => acts(() => h.read(cmd, args)),
    readFile: (p) => acts(() => h.runner.readFile(p)),
    writeFile: (p, c) => acts(() => h.runner.writeFile(p, c)),
    removeFile: (p) => acts(() => h.runner.removeFile(p)),
    mapPath: (p) => h.runner.mapPath(p),
    readGuest: async (vmid, kind, at, known) => {
      last.reread = false;
      const gs = await h.readGuest(vmid, kind, at, known);
      if (gs) req.state.guests.set(vmid, gs);
      else req.state.guests.delete(vmid);
      last.reread = vmid === target.guest && gs !== undefined;
      return gs;
    },
    scriptPath: (rel) => req.hasher.resolve(rel),
    stage: async (local) => {
      const content = await readFile(local, 'utf8');
      return acts(() => h.runner.stage(local, content));
    },
    sleep: (seconds) => (req.sleep ?? sleeper(1000))(seconds, req.interrupt.signal),
  };
}

function stepContext(
  req: ExecuteRequest,
  target: Target,
  fp: string,
  last: { reread: boolean } = { reread: false },
): StepContext {
  return {
    ...ctxOf(req, target),
    host: stepHost(req, target, guestNode(req, target.guest), last),
    limits: req.tuning,
    fingerprint: fp,
    log: (line) => req.emit({ type: 'output', target: target.id, line }),
    ...(req.interrupt.signal ? { signal: req.interrupt.signal } : {}),
  };
}

/** The step's word on its guest's power state, on a state it re-read itself (templates stay stopped). */
function setStatus(req: ExecuteRequest, vmid: Vmid, status?: 'running' | 'stopped' | 'unknown'): void {
  const gs = req.state.guests.get(vmid);
  if (gs && status && !gs.template) gs.status = status;
}

/** Re-reads a guest after a step; the status is the step's word, else what was known. */
async function refresh(
  req: ExecuteRequest,
  vmid: Vmid,
  status?: 'running' | 'stopped' | 'unknown',
): Promise<void> {
  const guest = req.config.guests.get(vmid)!;
  const before = req.state.guests.get(vmid);
  const kind = guest.kind === 'lxc' ? 'lxc' : 'vm';
  const known = status ?? before?.status ?? 'stopped';
  // Where it was, then where it is declared: a migration moves its config file between the two.
  const nodes = [...new Set([before?.node, guest.node ?? req.config.node].filter((n) => n !== undefined))];
  let gs: Awaited<ReturnType<Host['readGuest']>>;
  for (const node of nodes) {
    gs = await req.host.on(node).readGuest(vmid, kind, node, known);
    if (gs) break;
  }
  if (gs) req.state.guests.set(vmid, gs);
  else req.state.guests.delete(vmid);
}

/** Records fingerprints in the guest's stamp block in one call, leaving out those a step already wrote. */
async function writeStampSet(
  req: ExecuteRequest,
  vmid: Vmid,
  entries: Record<string, string>,
): Promise<void> {
  const gs = req.state.guests.get(vmid);
  if (!gs) return;
  const description = descriptionOf(gs);
  const stamps = readStamps(description, vmid);
  const add = Object.entries(entries).filter(
    ([name, fp]) => !(stamps.by === vmid && stamps.targets[name] === fp),
  );
  if (!add.length) return;
  const text = writeStamps(splitDescription(description).notes, vmid, {
    ...stamps.targets,
    ...Object.fromEntries(add),
  });
  const tool = gs.kind === 'lxc' ? 'pct' : 'qm';
  const r = await req.host.on(gs.node).run(tool, ['set', String(vmid), '--description', text]);
  if (r.exitCode !== 0) {
    throw StepError.fromCommand(
      `recording the stamps of ${add.map(([n]) => targetId(gs.kind, vmid, n)).join(', ')} failed: ${r.stderr.trim()}`,
      `${tool} set ${vmid} --description ...`,
      r,
    );
  }
  gs.conf.main.description = text;
  gs.current.description = text;
}
