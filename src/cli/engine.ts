// Shared wiring of the engine verbs (build, graph, explain, status): host choice, target
// expansion, graph, selection, one state read, forcing. The verbs stay thin; the logic lives in
// src/graph, src/runner and src/targets, which know nothing of the command line.
import path from 'node:path';
import { DEFAULT_CONFIG } from '../dsl/load.js';
import type { Config } from '../dsl/model.js';
import { buildGraph, type TargetGraph, topoOrder, withAncestors } from '../graph/graph.js';
import { Host } from '../pve/host.js';
import { localRunner, SshRunner, simRunner } from '../pve/runner.js';
import { controlDir, parseHostUrl } from '../pve/ssh.js';
import type { HostState } from '../pve/state.js';
import { readNeeds } from '../runner/checks.js';
import { plan, ScriptHasher } from '../runner/plan.js';
import type { Verdict } from '../runner/staleness.js';
import { parseTargetRef, type Result, type Target } from '../runner/types.js';
import { expandConfig } from '../targets/registry.js';
import { configOption, loadConfigOrExit } from './options.js';

export interface HostFlags {
  sim?: boolean;
  simStrict?: boolean;
  host?: string;
}

export function simRoot(): string {
  return path.resolve(process.env.PHOENIX_SIM_ROOT ?? '.phoenix/sim');
}

export function makeHost(flags: HostFlags): Result<Host, string> {
  if (flags.host && (flags.sim || flags.simStrict))
    return { ok: false, error: '--host and --sim exclude each other' };
  if (flags.sim || flags.simStrict) return { ok: true, value: new Host(simRunner(simRoot())) };
  if (flags.host) {
    const target = parseHostUrl(flags.host);
    if (!target.ok) return target;
    const dir = controlDir();
    if (!dir.ok) return dir;
    const configFile = process.env.PHOENIX_SSH_CONFIG;
    return {
      ok: true,
      value: new Host(
        new SshRunner(target.value, { controlDir: dir.value, ...(configFile ? { configFile } : {}) }),
      ),
    };
  }
  return { ok: true, value: new Host(localRunner()) };
}

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

/**
 * One state read. `lean` (build): power states as pvestatd last saw them, completed by
 * runner/lazy-read.ts once the plan needs them; otherwise asked of the nodes (status, start, stop).
 */
export async function readState(
  engine: Engine,
  host: Host,
  opts: { lean?: boolean } = {},
): Promise<Result<{ state: HostState; calls: number; ms: number }, string>> {
  const before = host.runner.calls.reads + host.runner.calls.writes;
  const started = Date.now();
  const r = await host.readState({ ...readNeeds(engine.config), liveStatus: !opts.lean });
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

/** Flags every engine verb takes. */
export interface CommonFlags extends HostFlags {
  config?: string;
}

export function addCommonOptions(cmd: import('commander').Command): import('commander').Command {
  return configOption(cmd)
    .option('--sim', 'use the simulator (state folder $PHOENIX_SIM_ROOT or .phoenix/sim)')
    .option('--sim-strict', 'use the simulator without creating missing storages/templates')
    .option('--host <url>', 'a remote Proxmox node, ssh://root@pve1[:port] (default: this machine)');
}

/** Prints a user-facing error and sets the exit code (2 = bad input). */
export function fail(verb: string, message: string, code = 2): void {
  process.stderr.write(`phoenix ${verb}: ${message}\n`);
  process.exitCode = code;
}

/** Loads the config and prepares the engine and host; reports problems itself (exit 2). */
export async function setup(
  verb: string,
  flags: CommonFlags,
): Promise<{ engine: Engine; host: Host } | undefined> {
  const config = await loadConfigOrExit({ config: flags.config ?? DEFAULT_CONFIG });
  if (!config) return undefined;
  const file = config.file;
  const engine = prepareEngine(config);
  if (!engine.ok) {
    fail(verb, `${path.relative(process.cwd(), file) || file}: ${engine.error}`);
    return undefined;
  }
  const host = makeHost(flags);
  if (!host.ok) {
    fail(verb, host.error);
    return undefined;
  }
  if (flags.sim || flags.simStrict) {
    const prepared = await prepareSim(engine.value.config, !!flags.simStrict);
    if (!prepared.ok) {
      fail(verb, prepared.error, 1);
      return undefined;
    }
  }
  for (const w of engine.value.warnings) process.stderr.write(`phoenix ${verb}: warning: ${w}\n`);
  return { engine: engine.value, host: host.value };
}

/** Makes sure the simulator's host exists (the simulator's own `ensureSimHost`). */
async function prepareSim(config: Config, strict: boolean): Promise<Result<void, string>> {
  const { ensureSimHost } = await import('../sim/init.js');
  try {
    const r = ensureSimHost(simRoot(), simNeeds(config), strict);
    if (r.missing.length) return { ok: false, error: `the simulated host lacks: ${r.missing.join('; ')}` };
    return { ok: true, value: undefined };
  } catch (error) {
    return { ok: false, error: `simulator: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** What the simulated host must offer for this config: nodes, storages and their content, volumes. */
export function simNeeds(config: Config): import('../sim/init.js').SimNeeds {
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
  }));
  return { storages, templates };
}
