// The engine of one project: the config's targets expanded, their graph and order, the host to
// talk to, and the one state read. Every verb (build, graph, explain, status, power, destroy)
// starts here; the CLI only parses flags and renders what comes back.
import path from 'node:path';
import type { Diagnostic } from '../dsl/diagnostics.js';
import { loadConfig } from '../dsl/load.js';
import type { Config } from '../dsl/model.js';
import { buildGraph, type TargetGraph, topoOrder, withAncestors } from '../graph/graph.js';
import { connect, type HostChoice, type HostEnv, usesSim } from '../pve/connect.js';
import type { Host, ReadNeeds } from '../pve/host.js';
import type { HostState } from '../pve/state.js';
import { readNeeds } from '../runner/checks.js';
import { plan, ScriptHasher } from '../runner/plan.js';
import type { Verdict } from '../runner/staleness.js';
import { parseTargetRef, type Result, type Target } from '../runner/types.js';
import type { SimNeeds } from '../sim/init.js';
import { hostDirPaths } from '../targets/hostdirs.js';
import { expandConfig } from '../targets/registry.js';

export interface Engine {
  config: Config;
  targets: Map<string, Target>;
  graph: TargetGraph;
  /** All target ids in dependency order. */
  order: string[];
  warnings: string[];
  hasher: ScriptHasher;
}

export function prepareEngine(config: Config): Result<Engine, string> {
  const { targets, warnings } = expandConfig(config);
  const graph = buildGraph(targets.map((t) => ({ id: t.id, guest: t.guest, deps: t.deps })));
  if (!graph.ok) return graph;
  return {
    ok: true,
    value: {
      config,
      targets: new Map(targets.map((t) => [t.id, t])),
      graph: graph.value,
      order: topoOrder(graph.value),
      warnings,
      hasher: new ScriptHasher(config.file),
    },
  };
}

/** Why a project could not be opened; each maps to one exit code at the CLI. */
export type OpenFailure =
  | { kind: 'config'; diagnostics: Diagnostic[] }
  | { kind: 'graph'; file: string; message: string }
  | { kind: 'host'; message: string }
  | { kind: 'sim'; message: string };

export interface OpenOptions extends HostChoice {
  configFile: string;
  env: HostEnv;
}

/** Loads the config, expands its targets, connects to the host (and makes a simulated one ready). */
export async function openProject(
  opts: OpenOptions,
): Promise<Result<{ engine: Engine; host: Host }, OpenFailure>> {
  const config = await loadConfig(opts.configFile);
  if (!config.ok) return { ok: false, error: { kind: 'config', diagnostics: config.error } };
  const engine = prepareEngine(config.value);
  if (!engine.ok)
    return { ok: false, error: { kind: 'graph', file: config.value.file, message: engine.error } };
  const host = connect(opts, opts.env, config.value.nodes);
  if (!host.ok) return { ok: false, error: { kind: 'host', message: host.error } };
  if (usesSim(opts)) {
    const prepared = await prepareSim(engine.value.config, opts.env.simRoot, !!opts.simStrict);
    if (!prepared.ok) return { ok: false, error: { kind: 'sim', message: prepared.error } };
  }
  return { ok: true, value: { engine: engine.value, host: host.value } };
}

/** Target ids named by `103` (all of its targets) or `103:config` / `lxc/103:config`. */
export function resolveRefs(engine: Engine, refs: string[]): Result<string[], string> {
  const out: string[] = [];
  for (const ref of refs) {
    const r = parseTargetRef(ref);
    if (!r || !engine.config.guests.has(r.vmid)) {
      return {
        ok: false,
        error: `'${ref}' names no declared guest or target (expected a VMID like 103 or a target like 103:config)`,
      };
    }
    const ids = [...engine.targets.values()]
      .filter((t) => t.guest === r.vmid && (r.name === undefined || t.name === r.name))
      .map((t) => t.id);
    if (!ids.length) {
      const names = [...engine.targets.values()].filter((t) => t.guest === r.vmid).map((t) => t.name);
      return { ok: false, error: `guest ${r.vmid} has no target '${r.name}' (it has: ${names.join(', ')})` };
    }
    out.push(...ids);
  }
  return { ok: true, value: out };
}

/** `build 103` = 103's targets and everything they need (not its siblings), in dependency order. */
export function selection(engine: Engine, refs: string[]): Result<string[], string> {
  if (!refs.length) return { ok: true, value: engine.order };
  const r = resolveRefs(engine, refs);
  if (!r.ok) return r;
  const keep = withAncestors(engine.graph, r.value);
  return { ok: true, value: engine.order.filter((id) => keep.has(id)) };
}

/** What the bulk state read fetches for this config, host folders of bind mounts included. */
export function stateNeeds(config: Config): ReadNeeds {
  return readNeeds(config, hostDirPaths(config));
}

export interface StateRead {
  state: HostState;
  calls: number;
  ms: number;
}

/**
 * One state read. `lean` (build): power states as pvestatd last saw them, completed by
 * runner/lazy-read.ts once the plan needs them; otherwise asked of the nodes (status, start, stop).
 */
export async function readState(
  engine: Engine,
  host: Host,
  opts: { lean?: boolean } = {},
): Promise<Result<StateRead, string>> {
  const before = host.runner.calls.reads + host.runner.calls.writes;
  const started = Date.now();
  const r = await host.readState({ ...stateNeeds(engine.config), liveStatus: !opts.lean });
  if (!r.ok) return r;
  return {
    ok: true,
    value: {
      state: r.value,
      calls: host.runner.calls.reads + host.runner.calls.writes - before,
      ms: Date.now() - started,
    },
  };
}

export function planFor(
  engine: Engine,
  state: HostState,
  order: string[],
  forced: Set<string>,
): Map<string, Verdict> {
  return plan({
    config: engine.config,
    state,
    targets: engine.targets,
    order,
    forced,
    hasher: engine.hasher,
  });
}

/** The `.phoenix/` folder beside the config file: event log and durations. */
export function stateDir(config: Config): string {
  return path.join(path.dirname(config.file), '.phoenix');
}

/** Makes sure the simulator's host exists (the simulator's own `ensureSimHost`). */
async function prepareSim(config: Config, simRoot: string, strict: boolean): Promise<Result<void, string>> {
  // Loaded only when simulating: a run against a real host never loads the simulator.
  const { ensureSimHost } = await import('../sim/init.js');
  try {
    const r = ensureSimHost(simRoot, simNeeds(config), strict);
    if (r.missing.length) return { ok: false, error: `the simulated host lacks: ${r.missing.join('; ')}` };
    return { ok: true, value: undefined };
  } catch (error) {
    return { ok: false, error: `simulator: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** What the simulated host must offer for this config: nodes, storages and their content, volumes. */
export function simNeeds(config: Config): SimNeeds {
  const templates: string[] = [];
  for (const g of config.guests.values()) {
    const v = g.kind === 'lxc' ? g.ostemplate : g.image;
    if (v) templates.push(v);
  }
  const storages = Object.entries(config.storages).map(([id, s]) => ({
    id,
    type: s.type,
    content: s.content,
    ...(s.pool ? { pool: s.pool } : {}),
    ...(s.path ? { path: s.path } : {}),
    ...(s.shared ? { shared: true } : {}),
    ...(s.nodes ? { nodes: s.nodes } : {}),
  }));
  const needs: SimNeeds = { storages, templates };
  // A cluster config: the simulator initialises these nodes (sim-cluster's `SimNeeds.nodes`).
  if (config.nodes) Object.assign(needs, { nodes: Object.keys(config.nodes) });
  return needs;
}
