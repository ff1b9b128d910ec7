// Phoenix's build pipeline run in the test process against the simulator's library: the same
// config loading, target choice, planning (pipeline/plan-build.ts), scheduler and targets as
// `phoenix build --sim`, and the same simulator code and state folder, without a Node process
// for Phoenix and one per host call (~0.2 s each on a loaded 2-core machine). For decisions
// (plan, staleness, recovery, checks) and for preparing built hosts; the CLI's own contract
// (exit codes, output, flags, signals) stays tested through bin/phoenix.js.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { type Engine, openProject } from '../../src/pipeline/engine.js';
import { type BuildPlan, chooseTargets, planBuild, runInputs } from '../../src/pipeline/plan-build.js';
import { Host } from '../../src/pve/host.js';
import { type CommandResult, guestCleanEnv, LocalRunner, type RunOptions } from '../../src/pve/runner.js';
import type { BuildEvent } from '../../src/runner/events.js';
import { History } from '../../src/runner/history.js';
import { buildSummary, DEFAULT_TUNING, execute } from '../../src/runner/scheduler.js';
import { sleeper } from '../../src/runner/types.js';
import { main as simMain } from '../../src/sim/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SIM_BIN = path.join(ROOT, 'bin', 'sim');
/** The simulator's commands (pct, qm, pvesh, pvesm and the host tools it models). */
const SIM_COMMANDS = new Set(readdirSync(SIM_BIN));

/** What a test process sets for every run: no simulated waiting, short retry back-off. */
const BASE_ENV: Record<string, string> = {
  PHOENIX_SIM_SPEED: '0',
  PHOENIX_SIM_AGENT_DELAY: '0',
  PHOENIX_RETRY_BASE_MS: '10',
};

/** Runs `fn` with `env` set in process.env, restoring what was there before. */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T> | T): Promise<T> {
  const saved = new Map(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * The simulator's runner (pve/runner.ts simRunner) with its commands called in process. `flock`
 * stays a process of its own (it runs the script it is given, which reads its stdin), and so does
 * the bulk file read (`sh -c grep …`, whose `stat` resolves to the simulator's through PATH).
 */
class InProcSimRunner extends LocalRunner {
  constructor(
    simRoot: string,
    private readonly simEnv: Record<string, string>,
  ) {
    super(`sim:${simRoot}`, simRoot, {
      PATH: `${SIM_BIN}${path.delimiter}${process.env.PATH ?? ''}`,
      ...simEnv,
    });
  }

  override async run(
    cmd: string,
    args: string[],
    opts: RunOptions & { mutating?: boolean } = {},
  ): Promise<CommandResult> {
    if (cmd === 'flock' || !SIM_COMMANDS.has(cmd)) return super.run(cmd, args, opts);
    if (opts.mutating) this.calls.writes++;
    else this.calls.reads++;
    let stdout = '';
    let stderr = '';
    const input = Buffer.from(opts.input ?? '');
    const exitCode = await withEnv(this.simEnv, () =>
      simMain(cmd, guestCleanEnv(cmd, args), {
        out: (t) => {
          stdout += t;
        },
        err: (t) => {
          stderr += t;
        },
        stdin: () => input,
      }),
    );
    if (opts.onLine) for (const l of `${stdout}${stderr}`.split('\n')) if (l.trim()) opts.onLine(l);
    return { exitCode, stdout, stderr };
  }
}

export interface Choose {
  force?: string[];
  alwaysMake?: boolean;
  allowReplace?: boolean;
}

export interface BuildOptions extends Choose {
  jobs?: number;
  keepGoing?: boolean;
}

/** A plan as `phoenix build --dry-run` makes it, with the lines it says about recovered debris. */
export type Planned =
  | ({ ok: true; said: string[] } & BuildPlan)
  | { ok: false; said: string[]; read?: string; problems: string[] };

/** A build as `phoenix build --json` runs it: its events (the summary last) and whether it succeeded. */
/** An event as a test reads it: the typed event, any field readable by name. */
export type Event = BuildEvent & Record<string, unknown>;

export interface Built {
  ok: boolean;
  events: Event[];
  /** Problems that kept the build from starting (`cannot succeed: …`). */
  problems: string[];
  said: string[];
  summary: Extract<BuildEvent, { type: 'summary' }> | undefined;
}

export interface InProc {
  /** Environment of the simulator's commands (faults, agent delay) for the next runs. */
  env: Record<string, string>;
  plan(refs?: string[], opts?: Choose): Promise<Planned>;
  build(refs?: string[], opts?: BuildOptions): Promise<Built>;
}

/** The pipeline of the project in `dir` (phoenix.config.ts) on the simulated host `simRoot`. */
export function inproc(dir: string, simRoot: string, env: Record<string, string> = {}): InProc {
  const self: InProc = {
    env,
    plan: (refs = [], opts = {}) => withEnv(runEnv(), () => planIn(refs, opts)),
    build: (refs = [], opts = {}) => withEnv(runEnv(), () => buildIn(refs, opts)),
  };
  const runEnv = () => ({ ...BASE_ENV, PHOENIX_SIM_ROOT: simRoot, ...self.env });

  async function open(): Promise<{ engine: Engine; host: Host }> {
    const opened = await openProject({
      configFile: path.join(dir, 'phoenix.config.ts'),
      sim: true,
      env: { simRoot },
    });
    if (!opened.ok) throw new Error(`cannot open ${dir}: ${JSON.stringify(opened.error).slice(0, 800)}`);
    return { engine: opened.value.engine, host: new Host(new InProcSimRunner(simRoot, runEnv())) };
  }

  async function planIn(refs: string[], opts: Choose): Promise<Planned> {
    const { engine, host } = await open();
    const choice = chooseTargets(engine, { refs, force: opts.force ?? [], ...flags(opts) });
    if (!choice.ok) throw new Error(choice.error);
    const said: string[] = [];
    const planned = await planBuild(engine, host, choice.value, {
      dryRun: true,
      placeholdersWarn: true,
      ...(opts.allowReplace ? { allowReplace: true } : {}),
      say: (line) => said.push(line),
    });
    if (planned.ok) return { ok: true, said, ...planned.value };
    const e = planned.error;
    return e.kind === 'read'
      ? { ok: false, said, read: e.message, problems: [] }
      : { ok: false, said, problems: e.problems };
  }

  async function buildIn(refs: string[], opts: BuildOptions): Promise<Built> {
    const { engine, host } = await open();
    const choice = chooseTargets(engine, { refs, force: opts.force ?? [], ...flags(opts) });
    if (!choice.ok) throw new Error(choice.error);
    const { selected } = choice.value;
    const lock = await host.acquireLock();
    if (!lock.ok) throw new Error(lock.error);
    const said: string[] = [];
    const events: Event[] = [];
    const history = new History(path.join(dir, '.phoenix'), { host: 'sim x0', record: false });
    try {
      const planned = await planBuild(engine, host, choice.value, {
        placeholdersWarn: true,
        ...(opts.allowReplace ? { allowReplace: true } : {}),
        say: (line) => said.push(line),
      });
      if (!planned.ok) {
        const e = planned.error;
        return {
          ok: false,
          events,
          problems: e.kind === 'read' ? [e.message] : e.problems,
          said,
          summary: undefined,
        };
      }
      const { read, state, stale, steps, problems } = planned.value;
      if (problems.length) return { ok: false, events, problems, said, summary: undefined };
      const emit = (e: BuildEvent) => {
        if (e.type !== 'output') events.push(e as Event);
      };
      emit({ type: 'state-read', hostCalls: read.calls, ms: read.ms, guests: state.guests.size });
      emit({ type: 'plan', steps, selected: selected.length });
      const result = stale.length
        ? await execute({
            ...runInputs(engine, state, choice.value),
            host,
            jobs: opts.jobs ?? 4,
            policy: opts.keepGoing ? 'continue' : 'no-new',
            allowReplace: !!opts.allowReplace,
            history,
            emit,
            interrupt: { requested: false },
            // What the CLI passes with PHOENIX_RETRY_BASE_MS=10 and the simulator at speed 0.
            tuning: { ...DEFAULT_TUNING, retryBaseMs: 10 },
            sleep: sleeper(0),
          })
        : undefined;
      const summary = buildSummary(result, selected.length, {
        ms: 0,
        hostCalls: host.runner.calls,
        interrupted: false,
      });
      emit(summary);
      return { ok: summary.failed.length === 0, events, problems: [], said, summary };
    } finally {
      await host.releaseLock();
    }
  }

  return self;
}

function flags(opts: Choose): { alwaysMake?: boolean; allowReplace?: boolean } {
  return {
    ...(opts.alwaysMake ? { alwaysMake: true } : {}),
    ...(opts.allowReplace ? { allowReplace: true } : {}),
  };
}

/** Fails with the build's failures and problems when it did not succeed (a readable test failure). */
export function built(b: Built): Built {
  if (!b.ok) {
    const failed = b.events.filter((e) => e.type === 'fail');
    throw new Error(`build failed: ${JSON.stringify({ problems: b.problems, failed }).slice(0, 3000)}`);
  }
  return b;
}
