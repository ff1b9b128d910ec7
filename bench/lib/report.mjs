// BENCHMARKS.md from the raw figures, and the regression comparison for `--check`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const f0 = (x) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(0));
const f1 = (x) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(1));
const f2 = (x) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
/** "median (min–max)" */
const mmm = (s, fmt = f0) => (s ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : '–');
const pct = (r) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)} %`;
const fleetName = (f) => (f === 'top' ? 'top-level (legacy) fleet' : `generated, ${f} guests`);
const yes = (ok) => (ok ? '**met**' : '**missed**');

export function renderReport(r, findings) {
  const L = [];
  const m = r.machine;
  L.push('# Phoenix benchmarks');
  L.push('');
  L.push(
    `Produced by \`${r.command}\` (bench/run.mjs) on ${r.date.slice(0, 16).replace('T', ' ')} UTC in ${f1(r.totalS / 60)} min; raw figures in \`bench/results.json\`.` +
      (r.mode === 'quick'
        ? ' **This is a `--quick` run** (fewer runs, smaller fleets, lower simulator speeds): a smoke test, not the reference figures.'
        : ''),
  );
  L.push('');
  L.push('## Machine');
  L.push('');
  L.push('| | |');
  L.push('| --- | --- |');
  L.push(`| CPUs | ${m.nproc} × ${m.cpu} |`);
  L.push(`| memory | ${m.memoryGiB} GiB |`);
  L.push(`| Node | ${m.node} |`);
  L.push(`| OS | ${m.os} |`);
  L.push(
    `| load average | ${m.loadAvg.join(' / ')} at the start, ${(m.loadAvgEnd ?? []).join(' / ')} at the end (1/5/15 min) |`,
  );
  L.push('');
  L.push(
    'The machine was **shared**: other jobs (compilers, test suites) ran on the same 2 cores while these figures were taken, so wall times carry noise, mostly upwards. Each figure is the median of its runs with (min–max); the number of runs is in each table.',
  );
  L.push('');
  L.push('## How to reproduce');
  L.push('');
  L.push('```sh');
  L.push('npm ci');
  L.push(
    'npm run bench                 # everything, ~25–35 min here; writes BENCHMARKS.md and bench/results.json',
  );
  L.push('npm run bench -- --quick      # smoke test, ~8 min');
  L.push('npm run bench -- --only noop  # one case: noop, full, one, load');
  L.push(
    'npm run bench -- --check      # compare with the committed bench/results.json, exit 1 if >25 % worse',
  );
  L.push('```');
  L.push('');
  L.push(
    `Everything runs on the simulator (\`bin/sim\`), whose latency model (\`src/sim/latency.ts\`) charges every \`pct\`/\`qm\`/\`pvesh\` call ${r.latency.processStart} s of Perl start-up plus the operation's time (e.g. \`pct create\` ${r.latency.pctCreate} s, a linked CT clone ${r.latency.cloneLinkedCt} s, \`pct start\` ${r.latency.startCt} s, a guest agent ${r.latency.agentBoot} s after \`qm start\`), multiplied by \`PHOENIX_SIM_SPEED\` (1 = realistic, 0 = no sleeping). On top of the model, every simulated call really costs a Node start-up of the simulator process: **${f0(r.simCallMs?.median)} ms** (median at speed 0, ${f0(r.simCallMs?.min)}–${f0(r.simCallMs?.max)}) on this machine. Node's own start-up (\`node -e 0\`): **${f0(r.nodeStartMs?.median)} ms** (${f0(r.nodeStartMs?.min)}–${f0(r.nodeStartMs?.max)}).`,
  );
  L.push('');
  L.push(
    'Built hosts of 10–1000 guests are prepared by building them with the real engine and the real simulator code in one process (`bench/lib/inproc.mjs`: no process per host call, speed 0), which takes minutes instead of an hour; every measured command is then the real `phoenix` CLI spawning the simulator per call. The CLI and the simulator run from a copy of `bin/` and `dist/` taken when the benchmark starts, so a rebuild of the working tree meanwhile cannot change what is measured half-way.',
  );

  // 1. No-op
  const noop = r.cases.noop;
  if (noop) {
    L.push('');
    L.push('## 1. No-op rebuild');
    L.push('');
    L.push(
      "`phoenix build --sim` on a host where everything is built: wall time of the whole process (and beyond Node's start-up, measured right beside each run with `node -e 0`), host calls (simulator commands in `calls.jsonl`; Phoenix's own count, which adds the `grep` over `/etc/pve`, in brackets), writes, CPU time (user + system) and peak RSS of the Phoenix process itself (`process.resourceUsage()` at exit; CPU time is the figure least disturbed by a busy machine).",
    );
    L.push('');
    L.push(
      '| fleet | speed | runs | wall ms | beyond Node start-up ms | Phoenix CPU ms | host calls | writes | peak RSS MiB |',
    );
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const row of noop) {
      L.push(
        `| ${fleetName(row.fleet)} | ${row.speed} | ${row.runs} | ${mmm(row.wallMs)} | ${mmm(row.beyondNodeMs)} | ${mmm(row.cpuMs)} | ${f0(row.simCalls?.median)} (${f0(row.hostCalls?.median)}) | ${f0(row.hostWrites?.median)} | ${mmm(row.rssMb)} |`,
      );
    }
    const gen = noop.filter((x) => x.fleet !== 'top');
    const calls = new Set(gen.map((x) => x.simCalls?.median));
    const big = noop.find((x) => x.fleet === 1000 && x.speed === 0);
    L.push('');
    L.push(
      `- Goal "host calls constant in the fleet size": ${yes(calls.size === 1)} — ${[...calls].join(', ')} simulator calls for ${gen
        .map((x) => x.fleet)
        .filter((v, i, a) => a.indexOf(v) === i)
        .join(
          '/',
        )} guests (the top-level fleet differs only in what it declares, not in size: a second storage holding templates, one content listing each, and bind mounts, whose host folders one \`stat\` reads). No writes on any no-op.`,
    );
    if (big) {
      const ok = big.beyondNodeMs.median < 1500;
      L.push(
        `- Goal "1000 guests under 1.5 s beyond Node's start-up at speed 0": ${yes(ok)} — ${f0(big.beyondNodeMs.median)} ms.${ok ? '' : ' See *Findings* below for where the time goes and what would fix it.'}`,
      );
    } else L.push('- The 1000-guest fleet was not run in this mode.');
  }

  // 2. Full build
  const full = r.cases.full;
  if (full) {
    L.push('');
    L.push('## 2. Full build: makespan against the bound, -j 1 and GNU make');
    L.push('');
    L.push(
      "A full build on an empty simulated host. The **bound** is computed from the target graph and the latency model, with Proxmox's locking rules:",
    );
    L.push('');
    L.push('```');
    L.push('bound = read + max( CP,  max over CT clone sources S of B_S,  W / j )');
    L.push('  read = the state read before any step');
    L.push('  CP   = the longest dependency path, each target weighing its duration d(t)');
    L.push('  B_S  = min_i ES_i + Σ_i d_i + min_i tail_i   over the clone steps i of CT source S');
    L.push('         (pct clone holds `lock: disk` on its source: clones of one CT template serialize;');
    L.push('          ES_i = earliest start of clone i, tail_i = longest path after it)');
    L.push('  W/j  = all the work spread perfectly over the j job slots');
    L.push('  d(t) = Σ over the host calls target t makes of what the latency model charges them');
    L.push(
      '         (+ for a VM `agent` step: the wait until the guest agent answers, agentBoot after qm start)',
    );
    L.push('```');
    L.push('');
    L.push(
      "Which calls a target makes is traced by building the fleet once in process at speed 0 with -j 1, with the simulator's `simulate()` reporting every charge (one source of numbers: the simulator's own table and code). Each of the three terms is a valid lower bound, so their maximum is. The bound ignores Phoenix's own cap of 2 concurrent heavy steps (`create`/`clone`, `PHOENIX_HEAVY_SLOTS`), which is not a Proxmox rule.",
    );
    L.push('');
    L.push(
      "**GNU make** runs a Makefile generated from the same graph (`bench/lib/makefile.mjs`): one rule per target with the same dependencies and -j, a recipe that `sleep`s the target's duration, and `flock`s for Proxmox's locks (each step holds its guest's lock, a CT clone also its source's). Two variants: recipes sleeping the **model** durations (as the bound), and recipes sleeping the durations **measured** in Phoenix's first run (what the steps really took on the simulator, including each call's real start-up) — the like-for-like scheduling comparison. make runs alongside the -j 1 build (its recipes only sleep).",
    );
    L.push('');
    L.push(
      '| fleet | speed | -j | targets | runs | Phoenix makespan s | bound s (dominant term) | vs bound | make, model durations s | make, measured durations s | -j 1 s |',
    );
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const row of full) {
      if (row.failed) {
        L.push(
          `| ${fleetName(row.fleet)} | ${row.speed} | ${row.jobs} | ${row.targets} | 0 | every run failed (see *Notes from this run*) | ${f1(row.model.bound)} (${row.model.dominant}) | | | | |`,
        );
        continue;
      }
      const j1 =
        row.j1?.makespanS === undefined && row.j1
          ? 'failed'
          : row.j1?.agentDelay0
            ? `${f1(row.j1.makespanS)} at speed ${row.j1.speed}, agent at once (its bound ${f1(row.j1.boundS)})`
            : row.j1
              ? row.j1.speed === row.speed
                ? `${f1(row.j1.makespanS)} (bound ${f1(row.j1.boundS)})`
                : `${f1(row.j1.makespanS)} at speed ${row.j1.speed} (its bound ${f1(row.j1.boundS)}); ≈ ${f1(row.j1.atSpeedS)} at speed ${row.speed}`
              : `not run (bound ${f1(row.modelSerialS)})`;
      L.push(
        `| ${fleetName(row.fleet)} | ${row.speed} | ${row.jobs} | ${row.targets} | ${row.runs} | ${mmm(row.makespanS, f1)} | ${f1(row.model.bound)} (${row.model.dominant}) | ${pct(row.ratioModel)} | ${mmm(row.makeModelS, f1)} | ${mmm(row.makeMeasuredS, f1)} | ${j1} |`,
      );
    }
    L.push('');
    L.push(
      "Terms of the bound and the same bound computed from each run's own measured step durations (`.phoenix/events.jsonl`):",
    );
    L.push('');
    L.push(
      `| fleet | read s | CP s | worst clone source: B_S s | W s | W/j s | estimate: model + ${f0(r.simCallMs?.median)} ms real start-up per call (not a bound) s | bound with measured steps s | makespan ÷ that |`,
    );
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const row of full.filter((x) => !x.failed)) {
      const b = row.model;
      L.push(
        `| ${fleetName(row.fleet)} | ${f1(b.read)} | ${f1(b.criticalPath)} | ${b.clone.source ?? '–'} (${b.clone.clones} clones): ${f1(b.clone.bound)} | ${f1(b.work)} | ${f1(b.workBound)} | ${f1(row.modelCalibrated?.bound)} | ${row.phoenix.map((p) => f1(p.boundMeasuredS)).join(', ')} | ${row.phoenix.map((p) => f2(p.makespanS / p.boundMeasuredS)).join(', ')} |`,
      );
    }
    L.push('');
    for (const row of full.filter((x) => !x.failed)) {
      const within = row.ratioModel <= 1.05;
      const vsMakeModel = row.makespanS.median <= (row.makeModelS?.median ?? Infinity);
      const vsMakeMeasured = row.makespanS.median <= (row.makeMeasuredS?.median ?? Infinity);
      L.push(
        `- ${fleetName(row.fleet)}: "within 5 % of the bound" ${yes(within)} (${pct(row.ratioModel)} against the model bound; ${pct(row.ratioMeasured.median)} against the bound of its own measured step durations). "No worse than make" ${yes(vsMakeModel)} against make with model durations, ${yes(vsMakeMeasured)} against make with the measured durations.` +
          (row.phoenix.length > 1
            ? ' Run 1 had no duration history (`.phoenix/durations.json`); later runs used it for critical-path-first ordering.'
            : ''),
      );
    }
    for (const row of full.filter((x) => x.callMix)) {
      const mix = row.callMix;
      L.push('');
      L.push(
        `Where the modelled work of the ${fleetName(row.fleet)} goes (${mix.calls} host calls, ${f1(mix.charged)} s at speed 1; process start-up is ${f0(mix.startShare * 100)} % of it):`,
      );
      L.push('');
      L.push('| call | calls | s | share |');
      L.push('| --- | --- | --- | --- |');
      for (const k of mix.kinds.slice(0, 10))
        L.push(
          `| \`${k.kind}\` | ${k.calls} | ${f1(k.charged)} | ${f0((k.charged / mix.charged) * 100)} % |`,
        );
    }
    const top = full.find((x) => x.fleet === 'top');
    if (top?.criticalPath?.length) {
      L.push('');
      L.push(
        `Critical path of the top-level fleet (model): ${top.criticalPath.length} targets, \`${top.criticalPath[0]}\` → … → \`${top.criticalPath.at(-1)}\`: the service dependencies chain 103 → 101 → 102 → 1001 → 1002 → 901 → 911 → 801, so most of the fleet waits on one line of provisioning steps.`,
      );
    }
  }

  // 3. build 103
  const one = r.cases.one;
  if (one) {
    L.push('');
    L.push('## 3. `phoenix build 103` on an empty host');
    L.push('');
    L.push(
      '| fleet | speed | runs | steps run | targets 103 needs | steps of a full build | wall s | full build makespan s |',
    );
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
    L.push(
      `| ${fleetName(one.fleet)} | ${one.speed} | ${one.runs} | ${mmm(one.steps)} | ${one.needed} (guests ${one.guestsNeeded.join(', ')}) | ${one.fullSteps} of ${one.allTargets} targets | ${mmm(one.wallS, f1)} | ${one.fullMakespanS !== undefined ? f1(one.fullMakespanS) : '–'} |`,
    );
    L.push('');
    L.push(
      `- Only what 103 needs runs: ${yes(one.outside.length === 0 && one.steps.max <= one.needed)}${one.outside.length ? ` — also ran: ${one.outside.join(', ')}` : ''}. (Steps run can be fewer than the targets needed: a target already satisfied when its turn comes, e.g. a clone's config inherited from its template, is skipped.)`,
    );
    if (one.fullMakespanS !== undefined)
      L.push(`- Time: ${f0((one.wallS.median / one.fullMakespanS) * 100)} % of a full build.`);
  }

  // 4. Load and plan
  const ld = r.cases.load;
  if (ld) {
    L.push('');
    L.push(`## 4. Config load and plan time (${fleetName(ld.fleet)})`);
    L.push('');
    L.push(
      `\`bench/config-load.mjs\` (a fresh process per run; ms after Node started, and including Node's start-up), then the planning phases with the engine's own functions (\`bench/lib/phases.mjs\`, fresh process per run, simulator at speed 0), then the whole \`phoenix build --sim --dry-run\`. ${ld.runs} runs each.`,
    );
    L.push('');
    L.push('| phase | ms | | |');
    L.push('| --- | --- | --- | --- |');
    L.push(
      `| load, cold (config changed: esbuild bundles it) | ${mmm(ld.load.cold.afterNode)} | with Node start-up | ${mmm(ld.load.cold.withNode)} |`,
    );
    L.push(
      `| load, warm (bundle reused from .phoenix/cache) | ${mmm(ld.load.warm.afterNode)} | with Node start-up | ${mmm(ld.load.warm.withNode)} |`,
    );
    for (const [label, p] of [
      ['empty host', ld.empty],
      ['built host', ld.built],
    ]) {
      if (!p) continue;
      L.push(`| ${label}: load (in the engine process) | ${mmm(p.loadMs)} | | |`);
      L.push(`| ${label}: expand to ${p.targets} targets + graph | ${mmm(p.expandMs)} | | |`);
      L.push(`| ${label}: state read (${f0(p.readCalls.median)} host calls) | ${mmm(p.readMs)} | | |`);
      L.push(
        `| ${label}: plan (${p.stale} stale) | ${mmm(p.planMs)} | heap after / peak RSS MiB | ${f0(p.heapMb.median)} / ${mmm(p.rssMb)} |`,
      );
    }
    L.push(
      `| \`phoenix build --sim --dry-run\`, empty host, whole process | ${mmm(ld.dryRun.wallMs)} | peak RSS MiB | ${mmm(ld.dryRun.rssMb)} |`,
    );
  }

  L.push('');
  L.push('## 5. Regression guard');
  L.push('');
  L.push(
    '`npm run bench -- --check` runs the benchmarks, writes `bench/results.check.json` and compares every figure of `bench/results.json` (times, host calls, memory, makespan ratios) with the committed one: it exits 1 when one is more than 25 % worse (times under 50 ms of difference are ignored as noise). It is meant as a separate, optional CI job — it is not part of `npm test`. Compare like with like: a `--quick` run against quick figures, a full run against full ones.',
  );
  if (r.notes?.length) {
    L.push('');
    L.push('## Notes from this run');
    L.push('');
    for (const n of r.notes) L.push(`- ${n}`);
  }
  if (findings) {
    L.push('');
    L.push(findings.trim());
  }
  L.push('');
  return L.join('\n');
}

/** Compares the metrics of two result files: more than `tolerance` worse fails. */
export function compareResults(base, now, tolerance) {
  const lines = [];
  const worse = [];
  for (const [key, b] of Object.entries(base.metrics ?? {})) {
    const n = now.metrics?.[key];
    if (!n) {
      lines.push(`  skip  ${key}: not measured in this run`);
      continue;
    }
    const ratio = b.value === 0 ? (n.value === 0 ? 1 : Infinity) : n.value / b.value;
    const noise = b.unit === 'ms' && Math.abs(n.value - b.value) < 50;
    const bad = ratio > 1 + tolerance && !noise;
    if (bad) worse.push(key);
    lines.push(
      `  ${bad ? 'WORSE' : 'ok   '} ${key}: ${b.value.toFixed(2)} → ${n.value.toFixed(2)} ${b.unit} (${ratio === Infinity ? '∞' : pct(ratio)})`,
    );
  }
  lines.unshift(
    worse.length
      ? `bench --check: ${worse.length} figure(s) more than ${tolerance * 100} % worse than bench/results.json`
      : `bench --check: no figure more than ${tolerance * 100} % worse than bench/results.json`,
  );
  return { lines, worse };
}

// `node bench/lib/report.mjs`: re-renders BENCHMARKS.md from bench/results.json and
// bench/findings.md (after editing the findings, without re-running the benchmarks).
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const results = JSON.parse(fs.readFileSync(path.join(root, 'bench/results.json'), 'utf8'));
  fs.writeFileSync(path.join(root, 'BENCHMARKS.md'), renderReport(results, readFindings(root)));
  console.log('wrote BENCHMARKS.md');
}

/** The hand-written analysis of the figures, bench/findings.md (optional). */
export function readFindings(root) {
  try {
    return fs.readFileSync(path.join(root, 'bench/findings.md'), 'utf8');
  } catch {
    return undefined;
  }
}
