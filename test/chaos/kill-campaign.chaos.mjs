#!/usr/bin/env node
// Kill campaign (issue #8, part 2). For each of N seeds: a fresh simulated host holding one
// foreign guest (CT 555), a full fleet build at a small latency scale (PHOENIX_SIM_SPEED, default
// 0.05, so Proxmox steps take real time and a kill lands mid-step), `kill -9` of Phoenix at a
// seeded random moment of the build, then an immediate plain re-run — while the Proxmox commands
// the dead run started may still be running, as on a real host — and further re-runs until
// `build --dry-run --exit-code` says nothing is stale.
// Counted: runs converged, re-runs needed, guests lost or replaced, the dead run's build lock
// taken over (with a message) or refusing the next run, `lock:` lines left behind.
// The guest agent answers at once (PHOENIX_SIM_AGENT_DELAY=0), which keeps a run short: the
// campaign is about kills, and waiting for the agent (F3) is tested on its own.
//
//   node test/chaos/kill-campaign.chaos.mjs [--runs 50] [--seed 1] [--parallel 2] [--speed 0.05]
//                                           [--write RELIABILITY.md] [--out results.json]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  arg,
  brokenRun,
  buildLock,
  callLog,
  commonFigures,
  converge,
  declared,
  FLEET,
  judgeRun,
  keepIfWrong,
  locksOf,
  phoenix,
  plantForeign,
  pool,
  prng,
  project,
  ROOT,
  writeBlock,
} from './lib.mjs';

const RUNS = Number(arg('runs', '50'));
const SEED = Number(arg('seed', '1'));
const PARALLEL = Number(arg('parallel', '2'));
const SPEED = arg('speed', '0.05');
const FIXTURE = path.resolve(arg('fixture', FLEET));
const WRITE = arg('write', undefined);
const OUT = arg('out', undefined);

/** How long an undisturbed build takes at this speed: kills are spread over that window. */
async function calibrate() {
  const p = project(FIXTURE, 'phoenix-kill-calibrate-');
  try {
    plantForeign(p);
    const r = await phoenix(['build', '--sim'], {
      cwd: p.dir,
      env: { PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: SPEED, PHOENIX_SIM_AGENT_DELAY: '0' },
    });
    if (r.status !== 0) throw new Error(`calibration build failed:\n${r.stdout}\n${r.stderr}`);
    return r.ms;
  } finally {
    p.remove();
  }
}

async function one(seed, fleet, windowMs) {
  const rand = prng(seed);
  const p = project(FIXTURE, `phoenix-kill-${seed}-`);
  const env = { PHOENIX_SIM_ROOT: p.simRoot };
  try {
    const foreignBefore = plantForeign(p);
    const before = callLog(p.simRoot).length;
    const killAt = Math.round(300 + rand() * (windowMs - 300));
    const killed = await phoenix(['build', '--sim'], {
      cwd: p.dir,
      env: { ...env, PHOENIX_SIM_SPEED: SPEED, PHOENIX_SIM_AGENT_DELAY: '0' },
      killAfterMs: killAt,
    });
    const wasKilled = killed.signal === 'SIGKILL';
    const lockAfterKill = buildLock(p.simRoot);
    const locksAfterKill = locksOf(p.simRoot);
    // Proxmox commands the dead run started, still running when the re-run begins.
    const inFlight = callLog(p.simRoot).length;

    // The first re-run starts at once; orphaned Proxmox commands may still hold their locks.
    const first = await phoenix(['build', '--sim'], { cwd: p.dir, env });
    const firstText = first.stdout + first.stderr;
    const tookOver = /took over the build lock of process \d+, which is gone/.test(firstText);
    const refusedByOwnLock = /another build holds/.test(firstText);
    const c = await converge(p, env);
    const problems = c.reruns === undefined ? ['did not converge'] : [];
    if (lockAfterKill !== undefined && !tookOver)
      problems.push('dead run left its build lock and the re-run did not take it over');
    const allText = [firstText, ...c.outputs.map((o) => o.stdout + o.stderr)].join('\n');
    const result = {
      seed,
      killAt,
      wasKilled,
      killedExit: killed.status,
      callsBeforeKill: inFlight - before,
      lockAfterKill: lockAfterKill !== undefined,
      locksAfterKill,
      firstRerunExit: first.status,
      tookOver,
      refusedByOwnLock,
      reruns: c.reruns === undefined ? undefined : c.reruns + 1,
      ...judgeRun({
        p,
        fleet,
        before,
        foreignBefore,
        reruns: c.reruns,
        problems,
        said: allText,
        text: allText,
      }),
    };
    keepIfWrong(p, result, {
      'killed.out': `${killed.stdout}\n--- stderr\n${killed.stderr}`,
      'reruns.out': allText,
    });
    return result;
  } catch (error) {
    return brokenRun(p, error, { seed });
  }
}

const started = Date.now();
const probe = project(FIXTURE, 'phoenix-kill-probe-');
const fleet = await declared(probe.dir);
probe.remove();
const windowMs = Number(arg('window', '0')) || (await calibrate());
process.stdout.write(`undisturbed build at speed ${SPEED}: ${windowMs} ms; kills spread over it\n`);
const seeds = Array.from({ length: RUNS }, (_, i) => SEED + i);
let done = 0;
const results = await pool(seeds, PARALLEL, async (seed) => {
  const r = await one(seed, fleet, windowMs);
  done++;
  const flag = r.converged && !r.replacements.length && !r.foreignTouched ? 'ok  ' : 'FAIL';
  process.stdout.write(
    `${flag} seed ${seed} (${done}/${RUNS}): killed at ${r.killAt} ms after ${r.callsBeforeKill ?? '?'} calls` +
      `${r.wasKilled ? '' : ' (build had finished)'}, build lock left ${r.lockAfterKill ? 'yes' : 'no'}` +
      `${r.tookOver ? ' → taken over' : ''}, locks [${(r.locksAfterKill ?? []).join(' ')}], re-runs ${r.reruns ?? '-'}, ` +
      `recoveries ${r.recoveries.length}, replaced ${r.replacements.length}` +
      `${r.problems.length ? `, problems: ${r.problems.join('; ')} (${r.dir})` : ''}\n`,
  );
  return r;
});

const n = results.length;
const { figures, rows } = commonFigures(results, started, (r) => ({
  killAt: r.killAt,
  locksAfterKill: r.locksAfterKill,
}));
const summary = {
  runs: n,
  seeds: `${SEED}..${SEED + RUNS - 1}`,
  speed: Number(SPEED),
  windowMs,
  fixture: path.relative(ROOT, FIXTURE),
  guests: fleet.length,
  killedMidBuild: results.filter((r) => r.wasKilled).length,
  ...figures,
  buildLockLeftByKill: results.filter((r) => r.lockAfterKill).length,
  buildLockTakenOver: results.filter((r) => r.lockAfterKill && r.tookOver).length,
  rerunRefusedByDeadLock: results.filter((r) => r.refusedByOwnLock).length,
  runsWithLocksAfterKill: results.filter((r) => r.locksAfterKill?.length).length,
};
console.log(JSON.stringify({ ...summary, failures: summary.failures.slice(0, 20) }, null, 2));
if (OUT) writeFileSync(OUT, `${JSON.stringify({ summary, results }, null, 2)}\n`);
if (WRITE) {
  writeBlock(
    path.resolve(WRITE),
    'kill-campaign',
    [
      `Latest run: ${summary.date}, ${summary.minutes} min, fixture \`${summary.fixture}\` (${summary.guests} guests), seeds ${summary.seeds}, PHOENIX_SIM_SPEED=${summary.speed} (undisturbed build ${Math.round(windowMs / 100) / 10} s; kills uniformly in [0.3 s, ${Math.round(windowMs / 100) / 10} s]).`,
      '',
      '| figure | value |',
      '| --- | --- |',
      `| runs (killed mid-build) | ${n} (${summary.killedMidBuild}) |`,
      rows.converged,
      rows.reruns('re-runs needed, counting the first'),
      rows.lost,
      rows.foreign,
      rows.recoveries,
      `| dead run's build lock left / taken over by the re-run with a message | ${summary.buildLockLeftByKill} / ${summary.buildLockTakenOver} |`,
      `| re-runs refused by the dead run's lock | **${summary.rerunRefusedByDeadLock}** |`,
      `| runs with \`lock:\` lines right after the kill | ${summary.runsWithLocksAfterKill} |`,
      rows.locksLeft,
      rows.stackTraces,
      ...(summary.failures.length
        ? [
            '',
            `Failing seeds: ${summary.failures.map((f) => `${f.seed} (kill at ${f.killAt} ms: ${f.problems.join('; ')})`).join(', ')}`,
          ]
        : []),
    ].join('\n'),
  );
}
process.exitCode = summary.failures.length ? 1 : 0;
