#!/usr/bin/env node
// Phoenix benchmarks (issue #7): no-op cost, makespan against the critical-path bound, -j 1 and
// GNU make, a single-guest build, config load and plan time. Writes BENCHMARKS.md and
// bench/results.json.
//
//   npm run bench                      full run (~20 min on 2 cores)
//   npm run bench -- --quick           smoke test: fewer runs, smaller fleets, lower speeds
//   npm run bench -- --only noop,full  some cases: noop, full, one, load
//   npm run bench -- --check           run, then compare with the committed bench/results.json;
//                                      exit 1 when a figure is more than 25 % worse (writes
//                                      bench/results.check.json, leaves the committed files alone)
//   --keep                             keep the work folder (printed at the start)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFleet } from './fleet-gen.mjs';
import { callMix, durationsFromTrace, makespanBound } from './lib/bound.mjs';
import { bundleEngine, ROOT } from './lib/engine.mjs';
import { makefileFor } from './lib/makefile.mjs';
import { appRoot, lastRunEvents, machine, phoenix, run, stats, useApp } from './lib/measure.mjs';
import { compareResults, readBefore, readFindings, renderReport } from './lib/report.mjs';

const args = process.argv.slice(2);
const flag = (n) => args.includes(n);
const value = (n) => {
  const i = args.indexOf(n);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag('--quick');
const check = flag('--check');
const keep = flag('--keep');
const CASES = ['noop', 'full', 'one', 'load'];
const only = value('--only')?.split(',') ?? CASES;
for (const c of only) {
  if (!CASES.includes(c)) {
    console.error(`bench: --only ${c}: expected some of ${CASES.join(', ')}`);
    process.exit(2);
  }
}

// What each mode runs. Full-build cases are long at speed 1 (every simulated host call also
// costs a real Node start-up of the simulator), so the slow references run at a lower speed and
// the report says so.
const PLAN = quick
  ? {
      noop: { fleets: ['top', 10, 100], runs: 3, runsAtSpeed1: 3, speeds: [1, 0] },
      full: [{ fleet: 'top', speed: 0.25, jobs: 4, runs: 1, j1Speed: 0.25, makeRuns: 2 }],
      one: { fleet: 'top', speed: 0.25, runs: 1 },
      load: { fleet: 100, runs: 3 },
    }
  : {
      noop: { fleets: ['top', 10, 100, 1000], runs: 5, runsAtSpeed1: 3, speeds: [1, 0] },
      full: [
        { fleet: 'top', speed: 1, jobs: 4, runs: 2, j1Speed: 0.25, makeRuns: 3 },
        { fleet: 100, speed: 0.25, jobs: 8, runs: 1, j1Speed: undefined, makeRuns: 3 },
      ],
      one: { fleet: 'top', speed: 1, runs: 2 },
      load: { fleet: 1000, runs: 5 },
    };

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-bench-'));
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
log(
  `work folder ${work}${keep ? ' (kept)' : ''}; mode ${quick ? 'quick' : 'full'}; cases ${only.join(', ')}`,
);
const startedAt = Date.now();

await bundleEngine();
process.env.PHOENIX_BENCH_REUSE_BUNDLE = '1';
// Measure a snapshot of the build as it is now (others may rebuild dist/ while this runs).
{
  const app = path.join(work, 'app');
  for (const sub of ['bin', 'dist'])
    fs.cpSync(path.join(ROOT, sub), path.join(app, sub), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'));
  useApp(app);
  process.env.PHOENIX_BENCH_APP = app;
}
const { LATENCY_S } = await import(path.join(ROOT, 'dist/bench-engine.mjs'));

/** A folder with the fleet's config and scripts: 'top' = the repository's phoenix.config.ts. */
function fleetDir(name, fleet) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  if (fleet === 'top') {
    fs.copyFileSync(path.join(ROOT, 'phoenix.config.ts'), path.join(dir, 'phoenix.config.ts'));
    for (const sub of ['features', 'apps']) {
      if (fs.existsSync(path.join(ROOT, sub)))
        fs.cpSync(path.join(ROOT, sub), path.join(dir, sub), { recursive: true });
    }
  } else writeFleet(fleet, dir);
  return dir;
}
const fleetLabel = (f) => (f === 'top' ? 'top-level fleet' : `${f}-guest fleet`);

async function seed(dir, { jobs = 4, trace } = {}) {
  const r = await run(
    [
      process.execPath,
      path.join(ROOT, 'bench/lib/seed.mjs'),
      path.join(dir, 'phoenix.config.ts'),
      path.join(dir, trace ? 'trace-sim' : 'sim'),
      '--jobs',
      String(jobs),
      ...(trace ? ['--trace', trace] : []),
    ],
    { cwd: dir },
  );
  if (r.exit !== 0) throw new Error(`seeding ${dir} failed:\n${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

const results = {
  version: 1,
  mode: quick ? 'quick' : 'full',
  date: new Date().toISOString(),
  command: [
    'npm run bench',
    ...(quick || only.length < CASES.length ? ['--'] : []),
    ...(quick ? ['--quick'] : []),
    ...(only.length < CASES.length ? ['--only', only.join(',')] : []),
  ].join(' '),
  machine: machine(),
  latency: LATENCY_S,
  cases: {},
  metrics: {},
  notes: [],
};
const metric = (key, v, unit) => {
  if (v !== undefined && Number.isFinite(v)) results.metrics[key] = { value: v, unit };
};

// Node's own start-up, the floor under every `phoenix` invocation.
{
  const samples = [];
  for (let i = 0; i < 7; i++) samples.push((await run([process.execPath, '-e', '0'])).wallMs);
  results.nodeStartMs = stats(samples);
  log(`node start-up: median ${results.nodeStartMs.median.toFixed(0)} ms`);
}
// A simulator call's real cost beyond the model: Node start-up of the simulator process plus its
// own work (speed 0, so nothing modelled is slept).
{
  const dir = fleetDir('sim-probe', 10);
  const samples = [];
  for (let i = 0; i < 7; i++) {
    samples.push(
      (
        await run([path.join(appRoot(), 'bin/sim/pvesh'), 'get', '/version', '--output-format', 'json'], {
          cwd: dir,
          env: { PHOENIX_SIM_ROOT: path.join(dir, 'sim'), PHOENIX_SIM_SPEED: '0' },
        })
      ).wallMs,
    );
  }
  results.simCallMs = stats(samples.slice(1));
  log(`simulator call at speed 0: median ${results.simCallMs.median.toFixed(0)} ms`);
}

// ---------------------------------------------------------------------------------------------
// 1. No-op rebuild.
if (only.includes('noop')) {
  const rows = [];
  for (const fleet of PLAN.noop.fleets) {
    const dir = fleetDir(`noop-${fleet}`, fleet);
    log(`noop ${fleetLabel(fleet)}: building it in process (speed 0)`);
    const seeded = await seed(dir, { jobs: 4 });
    log(`  seeded: ${seeded.built} steps in ${(seeded.ms / 1000).toFixed(1)} s`);
    const warm = await phoenix(dir, ['build', '--sim'], { speed: 0 });
    if (warm.exit !== 0) throw new Error(`no-op warm-up of ${fleet} failed:\n${warm.stderr.slice(-2000)}`);
    const stale = warm.reported?.built ?? -1;
    if (stale !== 0)
      results.notes.push(
        `no-op ${fleetLabel(fleet)}: the first rebuild after seeding still built ${stale} steps`,
      );
    for (const speed of PLAN.noop.speeds) {
      const runs =
        speed === 1 ? PLAN.noop.runsAtSpeed1 : fleet === 1000 ? Math.min(3, PLAN.noop.runs) : PLAN.noop.runs;
      const samples = [];
      const nodeStarts = [];
      for (let i = 0; i < runs; i++) {
        // Node's start-up right beside each run: the machine's load drifts.
        nodeStarts.push((await run([process.execPath, '-e', '0'])).wallMs);
        const r = await phoenix(dir, ['build', '--sim'], { speed });
        if (r.exit !== 0) throw new Error(`no-op of ${fleet} failed:\n${r.stderr.slice(-2000)}`);
        samples.push(r);
      }
      const row = {
        fleet,
        guests: fleet === 'top' ? undefined : fleet,
        speed,
        runs,
        built: samples.map((s) => s.reported?.built),
        wallMs: stats(samples.map((s) => s.wallMs)),
        nodeStartMs: stats(nodeStarts),
        beyondNodeMs: stats(samples.map((s) => s.wallMs - stats(nodeStarts).median)),
        simCalls: stats(samples.map((s) => s.simCalls)),
        hostCalls: stats(samples.map((s) => (s.reported ? s.reported.reads + s.reported.writes : NaN))),
        hostWrites: stats(samples.map((s) => s.reported?.writes ?? NaN)),
        rssMb: stats(samples.map((s) => (s.rssKb ?? NaN) / 1024)),
        cpuMs: stats(samples.map((s) => s.cpuMs ?? NaN)),
      };
      rows.push(row);
      log(
        `  speed ${speed}: ${row.wallMs.median.toFixed(0)} ms, ${row.simCalls.median} sim calls, ${row.rssMb?.median.toFixed(0)} MiB`,
      );
      const k = `noop.${fleet}.speed${speed}`;
      metric(`${k}.wallMs`, row.wallMs.median, 'ms');
      metric(`${k}.hostCalls`, row.hostCalls?.median, 'calls');
      metric(`${k}.cpuMs`, row.cpuMs?.median, 'ms');
      metric(`${k}.rssMb`, row.rssMb?.median, 'MiB');
    }
  }
  results.cases.noop = rows;
}

// ---------------------------------------------------------------------------------------------
// 2. Full build: makespan against the bound, -j 1 and GNU make.
function makeRun(makefile, jobs, tag) {
  const dir = path.join(work, `make-${tag}-${Math.random().toString(36).slice(2, 8)}`);
  fs.mkdirSync(path.join(dir, 'locks'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'Makefile'), makefile.replaceAll('@LOCKDIR@', path.join(dir, 'locks')));
  return run(['make', '-s', '-j', String(jobs), '-f', path.join(dir, 'Makefile')], { cwd: dir });
}
const scaled = (m, k) => new Map([...m].map(([id, v]) => [id, v * k]));

/** Per-target durations (s) a Phoenix run measured, from its event log. */
function measuredDurations(events) {
  const d = new Map();
  for (const e of events) if (e.type === 'done' || e.type === 'fail') d.set(e.target, e.ms / 1000);
  const read = events.find((e) => e.type === 'state-read');
  return { durations: d, read: read ? read.ms / 1000 : 0 };
}

/** The first failure of a build, from its event log (or its stderr). */
function failureOf(dir, r) {
  const fail = lastRunEvents(dir).find((e) => e.type === 'fail');
  return fail ? `${fail.target}: ${fail.error}`.slice(0, 400) : r.stderr.trim().slice(-400);
}

/**
 * The -j 1 reference at a lower speed. When it fails, it is run again with the guest agent
 * answering at once (PHOENIX_SIM_AGENT_DELAY=0), and its bound is computed the same way.
 */
async function runJ1(fleet, spec, speed, targets, guests, trace) {
  const attempt = async (agentDelay) => {
    const dir = fleetDir(`full-${fleet}-j1${agentDelay === undefined ? '' : '-agent0'}`, fleet);
    const env = agentDelay === undefined ? {} : { PHOENIX_SIM_AGENT_DELAY: String(agentDelay) };
    const r = await phoenix(dir, ['build', '--sim', '-j', '1'], { speed: spec.j1Speed, env });
    return { dir, r };
  };
  let agentBoot = LATENCY_S.agentBoot;
  let failed;
  let { dir, r } = await attempt(undefined);
  if (r.exit !== 0) {
    failed = failureOf(dir, r);
    log(`  -j 1 build FAILED (${failed}); again with the guest agent answering at once`);
    ({ dir, r } = await attempt(0));
    agentBoot = 0;
  }
  const model = durationsFromTrace(targets, trace, { agentBoot });
  const serial = (s) =>
    makespanBound({ targets, guests, durations: scaled(model.durations, s), read: model.read * s, jobs: 1 })
      .bound;
  return {
    exit: r.exit,
    stderr: r.stderr,
    speed: spec.j1Speed,
    makespanS: r.exit === 0 ? r.wallMs / 1000 : undefined,
    boundS: serial(spec.j1Speed),
    // What the same run would take at `speed`: the modelled part scales, the real overhead does not.
    atSpeedS: r.exit === 0 ? r.wallMs / 1000 + (serial(speed) - serial(spec.j1Speed)) : undefined,
    firstAttemptFailed: failed,
    agentDelay0: agentBoot === 0,
  };
}

if (only.includes('full')) {
  const rows = [];
  for (const spec of PLAN.full) {
    const { fleet, speed, jobs } = spec;
    const dir = fleetDir(`full-${fleet}`, fleet);
    const traceFile = path.join(dir, 'trace.json');
    log(`full ${fleetLabel(fleet)}: tracing host calls per target (in process, speed 0, -j 1)`);
    await seed(dir, { jobs: 1, trace: traceFile });
    const { targets, guests, trace } = JSON.parse(fs.readFileSync(traceFile, 'utf8'));
    const model = durationsFromTrace(targets, trace, { agentBoot: LATENCY_S.agentBoot });
    const boundAt = (s, j) =>
      makespanBound({
        targets,
        guests,
        durations: scaled(model.durations, s),
        read: model.read * s,
        jobs: j,
      });
    const bound = boundAt(speed, jobs);
    log(`  model bound at speed ${speed}, -j ${jobs}: ${bound.bound.toFixed(1)} s (${bound.dominant})`);

    const phx = [];
    let measured;
    for (let i = 0; i < spec.runs; i++) {
      fs.rmSync(path.join(dir, 'sim'), { recursive: true, force: true });
      log(`  phoenix build -j ${jobs} at speed ${speed}, run ${i + 1}/${spec.runs}`);
      const r = await phoenix(dir, ['build', '--sim', '-j', String(jobs)], { speed });
      if (r.exit !== 0) {
        const why = failureOf(dir, r);
        log(`    FAILED: ${why}`);
        results.notes.push(
          `full build of the ${fleetLabel(fleet)} at speed ${speed}, run ${i + 1}, failed: ${why}`,
        );
        continue;
      }
      const m = measuredDurations(lastRunEvents(dir));
      const mb = makespanBound({ targets, guests, durations: m.durations, read: m.read, jobs });
      measured ??= m;
      phx.push({
        makespanS: r.wallMs / 1000,
        built: r.reported?.built,
        simCalls: r.simCalls,
        hostCalls: r.reported ? r.reported.reads + r.reported.writes : undefined,
        boundMeasuredS: mb.bound,
        workMeasuredS: mb.work,
        historyWarm: i > 0,
      });
      log(
        `    ${(r.wallMs / 1000).toFixed(1)} s; bound with its measured step times ${mb.bound.toFixed(1)} s`,
      );
    }

    // References, run side by side (make's recipes only sleep, the -j 1 build runs one step at a time).
    const refs = [];
    const makeModel = makefileFor({
      targets,
      guests,
      durations: scaled(model.durations, speed),
      read: model.read * speed,
      lockDir: '@LOCKDIR@',
    });
    if (!measured) {
      rows.push({ fleet, speed, jobs, runs: spec.runs, targets: targets.length, model: bound, failed: true });
      continue;
    }
    const makeMeasured = makefileFor({ targets, guests, ...measured, lockDir: '@LOCKDIR@' });
    fs.writeFileSync(path.join(dir, 'Makefile.model'), makeModel);
    for (let i = 0; i < spec.makeRuns; i++) {
      refs.push(makeRun(makeModel, jobs, `model-${fleet}`).then((r) => ({ kind: 'make-model', r })));
      refs.push(makeRun(makeMeasured, jobs, `measured-${fleet}`).then((r) => ({ kind: 'make-measured', r })));
    }
    if (spec.j1Speed !== undefined) {
      log(`  phoenix build -j 1 at speed ${spec.j1Speed}, alongside ${spec.makeRuns * 2} make runs`);
      refs.push(runJ1(fleet, spec, speed, targets, guests, trace).then((r) => ({ kind: 'j1', r })));
    } else log(`  ${spec.makeRuns * 2} make runs (no -j 1 build: it would take too long)`);
    if (fleet === PLAN.one.fleet && only.includes('one')) {
      log('  and the `build 103` case alongside');
      refs.push(caseOne().then((r) => ({ kind: 'one', r })));
    }
    const done = await Promise.all(refs);
    const makes = (kind) => {
      for (const d of done.filter((x) => x.kind === kind && x.r.exit !== 0))
        results.notes.push(`${kind} for the ${fleetLabel(fleet)} failed: ${d.r.stderr.slice(-300)}`);
      return stats(done.filter((d) => d.kind === kind && d.r.exit === 0).map((d) => d.r.wallMs / 1000));
    };
    const makeModelS = makes('make-model');
    const makeMeasuredS = makes('make-measured');
    const { exit: _e, stderr: _s, ...j1 } = done.find((d) => d.kind === 'j1')?.r ?? {};
    if (j1.firstAttemptFailed)
      results.notes.push(
        `-j 1 build of the ${fleetLabel(fleet)} failed (${j1.firstAttemptFailed}); the figure is from a second run with the guest agent answering at once (PHOENIX_SIM_AGENT_DELAY=0), compared with a bound computed the same way.`,
      );
    const makespan = stats(phx.map((p) => p.makespanS));
    const row = {
      fleet,
      speed,
      jobs,
      runs: phx.length,
      targets: targets.length,
      model: bound,
      modelSerialS: boundAt(speed, 1).bound,
      callMix: callMix(trace, LATENCY_S.processStart),
      modelCalibrated: makespanBound({
        targets,
        guests,
        ...(() => {
          const c = durationsFromTrace(targets, trace, {
            agentBoot: LATENCY_S.agentBoot,
            perCall: results.simCallMs.median / 1000 / Math.max(speed, 1e-9),
          });
          return { durations: scaled(c.durations, speed), read: c.read * speed };
        })(),
        jobs,
      }),
      phoenix: phx,
      simCalls: stats(phx.map((p) => p.simCalls)),
      hostCalls: stats(phx.map((p) => p.hostCalls ?? NaN)),
      makespanS: makespan,
      ratioModel: makespan.median / bound.bound,
      ratioMeasured: stats(phx.map((p) => p.makespanS / p.boundMeasuredS)),
      makeModelS,
      makeMeasuredS,
      j1: j1.speed === undefined ? undefined : j1,
    };
    delete row.model.criticalPathTargets;
    row.criticalPath = bound.criticalPathTargets;
    rows.push(row);
    log(
      `  makespan ${makespan.median.toFixed(1)} s; bound ${bound.bound.toFixed(1)} s; make ${makeModelS.median.toFixed(1)} s (model) / ${makeMeasuredS.median.toFixed(1)} s (measured steps)`,
    );
    const k = `full.${fleet}`;
    metric(`${k}.makespanS`, makespan.median, 's');
    metric(`${k}.ratioModel`, row.ratioModel, 'x');
    metric(`${k}.ratioMeasured`, row.ratioMeasured.median, 'x');
    metric(`${k}.j1S`, j1.makespanS, 's');
    metric(`${k}.hostCalls`, row.hostCalls?.median, 'calls');
  }
  results.cases.full = rows;
}

// ---------------------------------------------------------------------------------------------
// 3. `phoenix build 103` on an empty host (mostly waiting: in full mode it runs alongside the
// top-level fleet's references).
async function caseOne() {
  const { fleet, speed, runs } = PLAN.one;
  const dir = fleetDir('one', fleet);
  const traceFile = path.join(dir, 'trace.json');
  const seeded = await seed(dir, { jobs: 1, trace: traceFile });
  const { targets } = JSON.parse(fs.readFileSync(traceFile, 'utf8'));
  const byId = new Map(targets.map((t) => [t.id, t]));
  const need = new Set();
  const todo = targets.filter((t) => t.guest === 103).map((t) => t.id);
  while (todo.length) {
    const id = todo.pop();
    if (need.has(id)) continue;
    need.add(id);
    todo.push(...byId.get(id).deps);
  }
  const samples = [];
  for (let i = 0; i < runs; i++) {
    fs.rmSync(path.join(dir, 'sim'), { recursive: true, force: true });
    log(`one: phoenix build 103 at speed ${speed}, run ${i + 1}/${runs}`);
    const r = await phoenix(dir, ['build', '103', '--sim'], { speed });
    if (r.exit !== 0) {
      results.notes.push(`build 103, run ${i + 1}, failed: ${failureOf(dir, r)}`);
      continue;
    }
    const ran = lastRunEvents(dir)
      .filter((e) => e.type === 'done')
      .map((e) => e.target);
    samples.push({
      wallS: r.wallMs / 1000,
      steps: ran.length,
      outside: ran.filter((id) => !need.has(id)),
      simCalls: r.simCalls,
      hostCalls: r.reported ? r.reported.reads + r.reported.writes : NaN,
    });
  }
  results.cases.one = {
    fleet,
    speed,
    runs: samples.length,
    needed: need.size,
    guestsNeeded: [...new Set([...need].map((id) => byId.get(id).guest))].sort((a, b) => a - b),
    fullSteps: seeded.built,
    allTargets: targets.length,
    steps: stats(samples.map((s) => s.steps)),
    outside: [...new Set(samples.flatMap((s) => s.outside))],
    wallS: stats(samples.map((s) => s.wallS)),
    simCalls: stats(samples.map((s) => s.simCalls)),
    hostCalls: stats(samples.map((s) => s.hostCalls)),
  };
  if (samples.length) {
    const o = results.cases.one;
    log(`  build 103: ${o.steps.median} steps (needed ${need.size}), ${o.wallS.median.toFixed(1)} s`);
    metric('one.103.steps', o.steps.median, 'steps');
    metric('one.103.wallS', o.wallS.median, 's');
    metric('one.103.hostCalls', o.hostCalls?.median, 'calls');
  }
  return { exit: 0 };
}
if (only.includes('one') && !results.cases.one) await caseOne();
if (results.cases.one) {
  const o = results.cases.one;
  o.fullMakespanS = results.cases.full?.find(
    (f) => f.fleet === o.fleet && f.speed === o.speed,
  )?.makespanS?.median;
}

// ---------------------------------------------------------------------------------------------
// 4. Config load and plan time.
if (only.includes('load')) {
  const { fleet, runs } = PLAN.load;
  const dir = fleetDir('load', fleet);
  const config = path.join(dir, 'phoenix.config.ts');
  log(`load: ${fleetLabel(fleet)}: bench/config-load.mjs --runs ${runs}`);
  const cl = await run(
    [process.execPath, path.join(ROOT, 'bench/config-load.mjs'), config, '--runs', String(runs)],
    {
      cwd: ROOT,
    },
  );
  if (cl.exit !== 0) throw new Error(`config-load failed:\n${cl.stderr.slice(-1500)}`);
  const parse = (series) => {
    const block = cl.stdout.split('\n');
    const i = block.findIndex((l) => l.startsWith(series));
    const grab = (line) => {
      const m = /median ([\d.]+) ms \(min ([\d.]+), max ([\d.]+)\)/.exec(line ?? '');
      return m ? { median: +m[1], min: +m[2], max: +m[3], n: runs } : undefined;
    };
    return { afterNode: grab(block[i + 1]), withNode: grab(block[i + 2]) };
  };
  const load = { cold: parse('cold'), warm: parse('warm'), output: cl.stdout.trim() };

  // Phases on an empty host and on a built one (the 1000-guest host of the no-op case if it ran).
  const phases = async (simRoot) => {
    const xs = [];
    for (let i = 0; i < runs; i++) {
      const r = await run([process.execPath, path.join(ROOT, 'bench/lib/phases.mjs'), config, simRoot], {
        cwd: dir,
        env: { PHOENIX_SIM_SPEED: '0' },
      });
      if (r.exit !== 0) throw new Error(`phases failed:\n${r.stderr.slice(-1500)}`);
      xs.push(JSON.parse(r.stdout.trim().split('\n').at(-1)));
    }
    const s = (k) => stats(xs.map((x) => x[k]));
    return {
      targets: xs[0].targets,
      stale: xs[0].stale,
      loadMs: s('loadMs'),
      expandMs: s('expandMs'),
      readMs: s('readMs'),
      readCalls: s('readCalls'),
      planMs: s('planMs'),
      heapMb: s('heapMb'),
      rssMb: stats(xs.map((x) => x.rssKb / 1024)),
    };
  };
  log('  plan phases on an empty host');
  const empty = await phases(path.join(dir, 'sim-empty'));
  let built;
  const builtDir = path.join(work, `noop-${fleet}`);
  if (fs.existsSync(path.join(builtDir, 'sim'))) {
    log('  plan phases on the built host');
    built = await phases(path.join(builtDir, 'sim'));
  }
  const dry = [];
  for (let i = 0; i < runs; i++) dry.push(await phoenix(dir, ['build', '--sim', '--dry-run'], { speed: 0 }));
  results.cases.load = {
    fleet,
    runs,
    load,
    empty,
    built,
    dryRun: {
      wallMs: stats(dry.map((d) => d.wallMs)),
      rssMb: stats(dry.map((d) => (d.rssKb ?? NaN) / 1024)),
    },
  };
  metric(`load.${fleet}.coldMs`, load.cold.afterNode?.median, 'ms');
  metric(`load.${fleet}.warmMs`, load.warm.afterNode?.median, 'ms');
  metric(`load.${fleet}.planEmptyMs`, empty.planMs.median, 'ms');
  if (built) metric(`load.${fleet}.planBuiltMs`, built.planMs.median, 'ms');
  metric(`load.${fleet}.dryRunMs`, results.cases.load.dryRun.wallMs.median, 'ms');
  metric(`load.${fleet}.rssMb`, empty.rssMb.median, 'MiB');
  log(
    `  cold ${load.cold.afterNode?.median} ms, warm ${load.warm.afterNode?.median} ms, plan ${empty.planMs.median.toFixed(0)} ms`,
  );
}

results.totalS = (Date.now() - startedAt) / 1000;
results.machine.loadAvgEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
log(`done in ${(results.totalS / 60).toFixed(1)} min`);

const committed = path.join(ROOT, 'bench/results.json');
if (check) {
  fs.writeFileSync(path.join(ROOT, 'bench/results.check.json'), `${JSON.stringify(results, null, 1)}\n`);
  if (!fs.existsSync(committed)) {
    console.error('bench --check: no committed bench/results.json to compare with');
    process.exit(2);
  }
  const base = JSON.parse(fs.readFileSync(committed, 'utf8'));
  const cmp = compareResults(base, results, 0.25);
  for (const line of cmp.lines) console.log(line);
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
  process.exit(cmp.worse.length ? 1 : 0);
}
fs.writeFileSync(committed, `${JSON.stringify(results, null, 1)}\n`);
fs.writeFileSync(
  path.join(ROOT, 'BENCHMARKS.md'),
  renderReport(results, readFindings(ROOT), readBefore(ROOT)),
);
log('wrote BENCHMARKS.md and bench/results.json');
if (!keep) fs.rmSync(work, { recursive: true, force: true });
