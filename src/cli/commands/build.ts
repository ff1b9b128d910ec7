// `phoenix build [ids...]`: plan what is stale, check the plan can succeed, then build it in
// parallel (or only show it with --dry-run).

import type { Command } from 'commander';
import { stateDir } from '../../pipeline/engine.js';
import { chooseTargets, planBuild, runInputs } from '../../pipeline/plan-build.js';
import { type BuildEvent, type Emit, JSON_VERSION, type PlanStep } from '../../runner/events.js';
import { History } from '../../runner/history.js';
import { jsonRenderer } from '../../runner/report/json.js';
import type { LiveStep } from '../../runner/report/live.js';
import { plainRenderer, planTotals, planTotalsLine, summaryLines } from '../../runner/report/plain.js';
import { type TtyDisplay, ttyDisplay } from '../../runner/report/tty.js';
import { buildSummary, execute, type FailurePolicy, type Interrupt } from '../../runner/scheduler.js';
import type { Target } from '../../runner/types.js';
import { addCommonOptions, type CommonFlags, fail, hostSleep, schedulerTuning, setup } from '../engine.js';

interface BuildFlags extends CommonFlags {
  dryRun?: boolean;
  jobs: string;
  keepGoing?: boolean;
  force: string[];
  alwaysMake?: boolean;
  json?: boolean;
  exitCode?: boolean;
  allowReplace?: boolean;
  verbose?: boolean;
}

export function registerBuild(program: Command): void {
  addCommonOptions(
    program
      .command('build')
      .description('Build the stale targets of the given guests (all guests when none given)')
      .argument('[ids...]', 'guests (103) or targets (103:config) to build, with everything they need'),
  )
    .option('-n, --dry-run', 'show the plan; change nothing')
    .option('-j, --jobs <n>', 'steps run in parallel', '4')
    .option('-k, --keep-going', 'after a failure, keep building branches that do not depend on it')
    .option(
      '--force <id|target>',
      'treat a guest or target as stale (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .option('-B, --always-make', 'treat every selected target as stale')
    .option('--json', 'print events (or, with --dry-run, the plan) as JSON')
    .option('--exit-code', 'with --dry-run: exit 1 when something is stale, 0 when nothing is')
    .option('--allow-replace', 'allow destroying and re-creating guests whose creation inputs changed')
    .option('-v, --verbose', 'show every output line of Proxmox commands (plain output)')
    .action(async (ids: string[], flags: BuildFlags) => {
      await build(ids, flags);
    });
}

async function build(ids: string[], flags: BuildFlags): Promise<void> {
  const jobs = Number(flags.jobs);
  if (!Number.isInteger(jobs) || jobs < 1)
    return fail('build', `-j ${flags.jobs}: expected a whole number ≥ 1`);
  const ready = await setup('build', flags);
  if (!ready) return;
  const { engine, host } = ready;
  const choice = chooseTargets(engine, {
    refs: ids,
    force: flags.force,
    ...(flags.alwaysMake ? { alwaysMake: true } : {}),
    ...(flags.allowReplace ? { allowReplace: true } : {}),
  });
  if (!choice.ok) return fail('build', choice.error);
  const { selected, forced } = choice.value;

  const started = Date.now();
  const taskWaitMs = process.env.PHOENIX_TASK_WAIT_MS ? Number(process.env.PHOENIX_TASK_WAIT_MS) : undefined;
  const write = (line: string) => process.stdout.write(`${line}\n`);
  const history = new History(stateDir(engine.config), historyKey(flags, host.label));
  const runId = `${new Date().toISOString()}-${process.pid}`;
  const tty = process.stdout.isTTY && !flags.json && !flags.dryRun;
  const plain = flags.json ? jsonRenderer(write) : plainRenderer(write, flags.verbose);

  // The host lock comes before the state read: a plan made from a host another build is still
  // changing (a guest half-created under `lock: create`) would be wrong. A dry run only reads.
  let lockNote: string | undefined;
  if (!flags.dryRun) {
    const lock = await host.acquireLock();
    if (!lock.ok) return fail('build', lock.error, 1);
    lockNote = lock.value.note;
  }
  // Ctrl-C (or SIGTERM): the first starts no new step, stops polling waits and lets running
  // Proxmox commands finish (they run in their own process group, so the terminal's SIGINT does
  // not reach them); the summary follows. A second aborts at once. Both release the lock.
  const abort = new AbortController();
  const interrupt: Interrupt = { requested: false, signal: abort.signal };
  let display: TtyDisplay | undefined;
  // Until the build's own renderer exists, only the Ctrl-C message has anything to say.
  let emit: Emit = (e) => {
    if (e.type === 'interrupt') process.stderr.write(`phoenix build: ${e.message}\n`);
  };
  let exitSignal: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.requested) {
      display?.stop();
      process.stderr.write(
        '\nphoenix build: aborted; running Proxmox commands may leave guests locked (the next build recovers what it started)\n',
      );
      void host
        .releaseLock()
        .catch(() => undefined)
        .finally(() => process.exit(signalExit(signal)));
      return;
    }
    exitSignal = signal;
    interrupt.requested = true;
    abort.abort();
    emit({
      type: 'interrupt',
      message: `${signal === 'SIGINT' ? 'Ctrl-C' : signal}: no new steps start; waiting for running Proxmox commands (${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to abort)`,
    });
  };
  // A dry run changes nothing: Node's own Ctrl-C (exit at once) suits it.
  if (!flags.dryRun) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    await buildLocked();
  } finally {
    display?.stop();
    if (!flags.dryRun) await host.releaseLock().catch(() => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (exitSignal) process.exitCode = signalExit(exitSignal);

  async function buildLocked(): Promise<void> {
    const planned = await planBuild(
      engine,
      host,
      { selected, forced },
      {
        ...(flags.allowReplace ? { allowReplace: true } : {}),
        ...(flags.dryRun ? { dryRun: true } : {}),
        ...(flags.sim || flags.simStrict ? { placeholdersWarn: true } : {}),
        ...(taskWaitMs !== undefined ? { taskWaitMs } : {}),
        say: (line) => {
          process.stderr.write(`phoenix build: ${flags.dryRun ? 'dry run: ' : ''}${line}\n`);
          if (!flags.dryRun) history.append(runId, { type: 'note', message: line });
        },
      },
    );
    if (!planned.ok) {
      const e = planned.error;
      if (e.kind === 'read') return fail('build', e.message, 1);
      for (const p of e.problems) process.stderr.write(`phoenix build: cannot succeed: ${p}\n`);
      process.exitCode = 1;
      return;
    }
    const { read, state, stale, steps, problems } = planned.value;
    for (const n of planned.value.notes) process.stderr.write(`phoenix build: note: ${n}\n`);
    for (const w of planned.value.warnings) process.stderr.write(`phoenix build: warning: ${w}\n`);

    if (flags.dryRun) {
      if (flags.json) {
        write(
          JSON.stringify({
            version: JSON_VERSION,
            steps,
            totals: planTotals(steps),
            problems,
            hostCalls: read.calls,
          }),
        );
      } else {
        if (!stale.length) write('nothing to do: every selected target is fresh');
        for (const s of steps) {
          write(`${s.target}${s.node ? ` @${s.node}` : ''}  [${s.action}]  ${s.step}`);
          for (const r of s.reasons) write(`    because ${r.text}`);
        }
        if (stale.length) write(planTotalsLine(steps));
        for (const p of problems) process.stderr.write(`phoenix build: cannot succeed: ${p}\n`);
      }
      if (problems.length) process.exitCode = 1;
      else if (flags.exitCode) process.exitCode = stale.length ? 1 : 0;
      return;
    }

    if (problems.length) {
      for (const p of problems) process.stderr.write(`phoenix build: cannot succeed: ${p}\n`);
      process.exitCode = 1;
      return;
    }

    display =
      tty && stale.length
        ? ttyDisplay(process.stdout, liveSteps(steps, engine.targets, history), jobs)
        : undefined;
    emit = (e: BuildEvent) => {
      history.append(runId, e);
      if (display) {
        if (e.type === 'summary') return;
        display.emit(e);
        if (e.type === 'note' || e.type === 'interrupt') display.note(e.message);
        if (e.type === 'plan')
          display.note(`${e.steps.length} of ${e.selected} targets stale; ${planTotalsLine(e.steps)}`);
      } else plain(e);
    };
    emit({ type: 'state-read', hostCalls: read.calls, ms: read.ms, guests: state.guests.size });
    emit({ type: 'plan', steps, selected: selected.length });

    const policy: FailurePolicy = flags.keepGoing ? 'continue' : 'no-new';
    let result: Awaited<ReturnType<typeof execute>> | undefined;
    if (lockNote) emit({ type: 'note', message: lockNote });
    if (stale.length) {
      try {
        result = await execute({
          ...runInputs(engine, state, { selected, forced }),
          host,
          jobs,
          policy,
          allowReplace: !!flags.allowReplace,
          history,
          emit,
          interrupt,
          tuning: schedulerTuning(),
          sleep: hostSleep(),
        });
      } finally {
        history.save();
      }
    }
    display?.stop();
    const summary = buildSummary(result, selected.length, {
      ms: Date.now() - started,
      hostCalls: host.runner.calls,
      interrupted: interrupt.requested,
    });
    emit(summary);
    if (display) for (const l of summaryLines(summary)) write(l);
    // A node down leaves its guests unbuilt: not a success, though the other nodes' work ran.
    if (summary.failed.length || summary.interrupted || summary.nodesDown) process.exitCode = 1;
  }
}

/** The exit code of a build stopped by a signal: 128 + its number (130 for Ctrl-C, 143 for SIGTERM). */
function signalExit(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? 143 : 130;
}

/**
 * Durations are kept per host; a simulator run counts per speed, and not at all at speed 0
 * (nothing sleeps, so its times say nothing).
 */
function historyKey(flags: BuildFlags, label: string): { host: string; record: boolean } {
  if (!flags.sim && !flags.simStrict) return { host: label, record: true };
  const speed = Number(process.env.PHOENIX_SIM_SPEED ?? '1');
  return { host: `sim x${speed}`, record: speed > 0 };
}

/** Each planned step with its nearest planned ancestors (through fresh ones) and expected time. */
function liveSteps(steps: PlanStep[], targets: Map<string, Target>, history: History): LiveStep[] {
  const planned = new Set(steps.map((s) => s.target));
  const nearest = new Map<string, string[]>();
  const near = (id: string): string[] => {
    const known = nearest.get(id);
    if (known) return known;
    const out = new Set<string>();
    for (const d of targets.get(id)?.deps ?? []) {
      if (planned.has(d)) out.add(d);
      else for (const x of near(d)) out.add(x);
    }
    const list = [...out];
    nearest.set(id, list);
    return list;
  };
  return steps.map((s) => ({
    target: s.target,
    guest: s.guest,
    deps: near(s.target),
    estimateMs: history.estimate(s.target),
  }));
}
