#!/usr/bin/env node
// Fault campaign (issue #8, part 1). For each of N seeds: a fresh simulated host holding one
// foreign guest (CT 555, not in the config), a full fleet build with seeded Proxmox faults
// (PHOENIX_SIM_FAULTS: every call fails with probability p ∈ [5 %, 10 %], and a quarter of that
// again kills the task mid-way, leaving what a killed task leaves: `lock: create`, `lock: disk`),
// (odd seeds with --keep-going), then plain re-runs (no faults) until `build --dry-run --exit-code` says nothing is stale.
// Counted: runs converged, re-runs needed, guests lost or replaced (a destroy of a guest whose
// creation had succeeded), recoveries (a destroy of a half-made guest Phoenix created), foreign
// guests touched, `lock:` lines and build locks left after the faulty run and after convergence.
//
//   node test/chaos/fault-campaign.chaos.mjs [--runs 200] [--seed 1] [--parallel 2] [--fixture dir]
//                                            [--write RELIABILITY.md] [--out results.json]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  arg,
  commonFigures,
  declared,
  FLEET,
  faultRun,
  pool,
  prng,
  project,
  ROOT,
  writeBlock,
} from './lib.mjs';

const RUNS = Number(arg('runs', '200'));
const SEED = Number(arg('seed', '1'));
const PARALLEL = Number(arg('parallel', '2'));
const FIXTURE = path.resolve(arg('fixture', FLEET));
const WRITE = arg('write', undefined);
const OUT = arg('out', undefined);

async function one(seed, fleet) {
  const rand = prng(seed);
  const pFail = 0.05 + rand() * 0.05;
  const faults = `seed=${seed},p=${pFail.toFixed(3)};seed=${seed},p=${(pFail / 4).toFixed(3)},mode=crash`;
  // Odd seeds build with --keep-going: more of the fleet is attempted, so more faults land.
  return faultRun({ seed, fleet, fixture: FIXTURE, faults, keepGoing: seed % 2 === 1 });
}

const started = Date.now();
const probe = project(FIXTURE, 'phoenix-fault-probe-');
const fleet = await declared(probe.dir);
probe.remove();
const seeds = Array.from({ length: RUNS }, (_, i) => SEED + i);
let done = 0;
const results = await pool(seeds, PARALLEL, async (seed) => {
  const r = await one(seed, fleet);
  done++;
  const flag = r.converged && !r.replacements.length && !r.foreignTouched ? 'ok  ' : 'FAIL';
  process.stdout.write(
    `${flag} seed ${seed} (${done}/${RUNS}): faulty exit ${r.faultyExit}, ${r.injected ?? '?'} faults injected, ` +
      `locks after fault [${(r.locksAfterFault ?? []).join(' ')}], re-runs ${r.reruns ?? '-'}, ` +
      `recoveries ${r.recoveries.length}, replaced ${r.replacements.length}` +
      `${r.problems.length ? `, problems: ${r.problems.join('; ')} (${r.dir})` : ''}\n`,
  );
  return r;
});

const n = results.length;
const { figures, rows, sum } = commonFigures(results, started, (r) => ({
  locksAfterFault: r.locksAfterFault,
}));
const summary = {
  runs: n,
  seeds: `${SEED}..${SEED + RUNS - 1}`,
  fixture: path.relative(ROOT, FIXTURE),
  guests: fleet.length,
  ...figures,
  faultyRunsFailed: results.filter((r) => r.faultyExit !== 0).length,
  injectedFaults: sum((r) => r.injected),
  crashedCalls: sum((r) => r.crashedCalls),
  maxReruns: Math.max(0, ...results.filter((r) => r.converged).map((r) => r.reruns)),
  runsWithLocksAfterFault: results.filter((r) => r.locksAfterFault?.length).length,
  locksAfterFault: sum((r) => r.locksAfterFault?.length),
  buildLocksAfterFault: results.filter((r) => r.buildLockAfterFault).length,
  recoveryMessagesSeen: results.filter((r) => r.recoveryMessages?.length).length,
};
console.log(JSON.stringify({ ...summary, failures: summary.failures.slice(0, 20) }, null, 2));
if (OUT) writeFileSync(OUT, `${JSON.stringify({ summary, results }, null, 2)}\n`);
if (WRITE) {
  writeBlock(
    path.resolve(WRITE),
    'fault-campaign',
    [
      `Latest run: ${summary.date}, ${summary.minutes} min, fixture \`${summary.fixture}\` (${summary.guests} guests), seeds ${summary.seeds}.`,
      '',
      '| figure | value |',
      '| --- | --- |',
      `| runs | ${n} |`,
      rows.converged,
      `| faulty builds that failed (exit ≠ 0) | ${summary.faultyRunsFailed} |`,
      `| faults injected (failed + killed Proxmox calls) | ${summary.injectedFaults} (${summary.crashedCalls} killed mid-task) |`,
      rows.reruns('re-runs needed'),
      rows.lost,
      rows.foreign,
      rows.recoveries,
      `| runs leaving \`lock:\` lines after the faulty build | ${summary.runsWithLocksAfterFault} (${summary.locksAfterFault} locks) |`,
      `| build locks left by the faulty build | ${summary.buildLocksAfterFault} |`,
      rows.locksLeft,
      `| runs whose re-runs said they recovered something | ${summary.recoveryMessagesSeen} |`,
      rows.stackTraces,
      ...(summary.failures.length
        ? [
            '',
            `Failing seeds: ${summary.failures.map((f) => `${f.seed} (${f.problems.join('; ')})`).join(', ')}`,
          ]
        : []),
    ].join('\n'),
  );
}
process.exitCode = summary.failures.length ? 1 : 0;
