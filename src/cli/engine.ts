// The CLI edge of the engine verbs (build, graph, explain, status, power, destroy, check-health):
// the flags they share, the environment read once, and the rendering of a project that cannot
// be opened. The pipeline itself lives in src/pipeline and knows nothing of the command line.
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG } from '../dsl/load.js';
import { type Engine, openProject } from '../pipeline/engine.js';
import { connect, type HostChoice, type HostEnv } from '../pve/connect.js';
import type { Host } from '../pve/host.js';
import { DEFAULT_TUNING, type Tuning } from '../runner/scheduler.js';
import { type Result, type Sleep, sleeper } from '../runner/types.js';
import { configOption, reportConfigProblems } from './options.js';

export type HostFlags = HostChoice;

/** The environment the host choice depends on, read here and nowhere deeper. */
export function hostEnv(env: NodeJS.ProcessEnv = process.env): HostEnv {
  // Number(undefined) is NaN: no speed unless PHOENIX_SIM_SPEED is set.
  const speed = Number(env.PHOENIX_SIM_SPEED);
  return {
    simRoot: path.resolve(env.PHOENIX_SIM_ROOT ?? '.phoenix/sim'),
    ...(env.PHOENIX_SSH_CONFIG ? { sshConfig: env.PHOENIX_SSH_CONFIG } : {}),
    ...(env.XDG_RUNTIME_DIR ? { runtimeDir: env.XDG_RUNTIME_DIR } : {}),
    ...(env.PHOENIX_SIM_BIN ? { simBin: env.PHOENIX_SIM_BIN } : {}),
    ...(Number.isFinite(speed) && speed >= 0 ? { simSpeed: speed } : {}),
  };
}

/** The host's clock for waits (polling, health-check retries): scaled by the simulator's speed when set. */
export function hostSleep(env: HostEnv = hostEnv()): Sleep {
  return sleeper(1000 * (env.simSpeed ?? 1));
}

/** The scheduler's knobs, read here and nowhere deeper. */
export function schedulerTuning(env: NodeJS.ProcessEnv = process.env): Tuning {
  const number = (text: string | undefined, fallback: number) =>
    text !== undefined && Number.isFinite(Number(text)) ? Number(text) : fallback;
  return {
    heavySlots: number(env.PHOENIX_HEAVY_SLOTS, DEFAULT_TUNING.heavySlots),
    retryBaseMs: number(env.PHOENIX_RETRY_BASE_MS, DEFAULT_TUNING.retryBaseMs),
    debug: !!env.PHOENIX_DEBUG,
    shutdownTimeoutS: number(env.PHOENIX_SHUTDOWN_TIMEOUT_S, DEFAULT_TUNING.shutdownTimeoutS),
    guestExecTimeoutS: number(env.PHOENIX_GUEST_EXEC_TIMEOUT_S, DEFAULT_TUNING.guestExecTimeoutS),
    agentWaitS: number(env.PHOENIX_AGENT_WAIT_S, DEFAULT_TUNING.agentWaitS),
  };
}

export function makeHost(flags: HostFlags): Result<Host, string> {
  return connect(flags, hostEnv());
}

/** Flags every engine verb takes. */
export interface CommonFlags extends HostFlags {
  config?: string;
}

export function addCommonOptions(cmd: Command): Command {
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

/** Opens the project (config, targets, host); reports problems itself (exit 2, or 1 for the simulator). */
export async function setup(
  verb: string,
  flags: CommonFlags,
): Promise<{ engine: Engine; host: Host } | undefined> {
  const configFile = flags.config ?? DEFAULT_CONFIG;
  const opened = await openProject({
    configFile,
    ...(flags.sim ? { sim: true } : {}),
    ...(flags.simStrict ? { simStrict: true } : {}),
    ...(flags.host ? { host: flags.host } : {}),
    env: hostEnv(),
  });
  if (!opened.ok) {
    const e = opened.error;
    if (e.kind === 'config') reportConfigProblems(e.diagnostics, configFile);
    else if (e.kind === 'graph')
      fail(verb, `${path.relative(process.cwd(), e.file) || e.file}: ${e.message}`);
    else if (e.kind === 'host') fail(verb, e.message);
    else fail(verb, e.message, 1);
    return undefined;
  }
  for (const w of opened.value.engine.warnings) process.stderr.write(`phoenix ${verb}: warning: ${w}\n`);
  return opened.value;
}
