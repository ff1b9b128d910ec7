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

/** The "before" figure of a row: the same fleet (and speed) in bench/before.json. */
const beforeOf = (rows, row, keys = ['fleet', 'speed']) =>
  (rows ?? []).find((b) => keys.every((k) => b[k] === row[k]));
const med = (s, fmt = f0) => (s ? fmt(s.median) : '–');

export function renderReport(r, findings, before) {
  const L = [];
  const was = before?.cases ?? {};
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

  if (before) {
    L.push('');
    L.push(
      `Every table shows **before** (\`bench/before.json\`: ${before.beforeNote ?? `the figures of ${before.date?.slice(0, 10)}`}) beside the figure of this run. Before-figures were taken on a shared machine too (load average ${(before.machine?.loadAvg ?? []).join(' / ')} at their start): compare CPU time and host calls first, wall times with care.`,
    );
  }

  // 1. No-op
  const noop = r.cases.noop;
  if (noop) {
    L.push('');
    L.push('## 1. No-op rebuild');
    L.push('');
    L.push(
      "`phoenix build --sim` on a host where everything is built: wall time of the whole process (and beyond Node's start-up, measured right beside each run with `node -e 0`), host calls (Phoenix's own count: every command it runs on the host, the file read of `/etc/pve` included; simulator commands in `calls.jsonl` in brackets), writes, CPU time (user + system) and peak RSS of the Phoenix process itself (`process.resourceUsage()` at exit; CPU time is the figure least disturbed by a busy machine).",
    );
    L.push('');
    L.push(
      '| fleet | speed | runs | wall ms | before | beyond Node start-up ms | before | Phoenix CPU ms | before | host calls (simulator) | before | writes | peak RSS MiB | before |',
    );
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const row of noop) {
      const b = beforeOf(was.noop, row);
      L.push(
        `| ${fleetName(row.fleet)} | ${row.speed} | ${row.runs} | ${mmm(row.wallMs)} | ${med(b?.wallMs)} | ${mmm(row.beyondNodeMs)} | ${med(b?.beyondNodeMs)} | ${mmm(row.cpuMs)} | ${med(b?.cpuMs)} | ${f0(row.hostCalls?.median)} (${f0(row.simCalls?.median)}) | ${b ? `${med(b.hostCalls)} (${med(b.simCalls)})` : '–'} | ${f0(row.hostWrites?.median)} | ${mmm(row.rssMb)} | ${med(b?.rssMb)} |`,
      );
    }
    const gen = noop.filter((x) => x.fleet !== 'top');
    const calls = new Set(noop.map((x) => x.hostCalls?.median));
    const big = noop.find((x) => x.fleet === 1000 && x.speed === 0);
    const small = noop.find((x) => x.fleet === 10 && x.speed === 0);
    L.push('');
    L.push(
      `- Goal "no-op rebuild in at most 2 host calls, whatever the fleet": ${yes([...calls].every((c) => c <= 2))} — ${[...calls].join(', ')} host calls for the top-level fleet and ${gen
        .map((x) => x.fleet)
        .filter((v, i, a) => a.indexOf(v) === i)
        .join(
          '/',
        )} guests: one \`pvesh get /cluster/resources\` (the only Perl start) and one file read (every config, firewall file and birth record; the bind-mount folders' owners are \`stat\`ed in the same command, which is why the simulator logs a \`stat\` for the top-level fleet). No writes on any no-op.`,
    );
    if (big && small) {
      const ratio = big.cpuMs.median / small.cpuMs.median;
      const wall = big.beyondNodeMs.median / small.beyondNodeMs.median;
      L.push(
        `- Goal "1000 guests within 1.3× the time of 10 guests at speed 0 (beyond Node's start-up)": ${yes(wall <= 1.3)} — ${wall.toFixed(2)}× on the wall clock, ${ratio.toFixed(2)}× in Phoenix's CPU time (${f0(big.cpuMs.median)} vs ${f0(small.cpuMs.median)} ms).${wall <= 1.3 ? '' : ' See *Findings* below for where the time goes.'}`,
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
      '| fleet | speed | -j | targets | runs | host calls (simulator) | before | Phoenix makespan s | before | bound s (dominant term) | vs bound | before | make, model durations s | make, measured durations s | -j 1 s |',
    );
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const row of full) {
      if (row.failed) {
        L.push(
          `| ${fleetName(row.fleet)} | ${row.speed} | ${row.jobs} | ${row.targets} | 0 | | | every run failed (see *Notes from this run*) | | ${f1(row.model.bound)} (${row.model.dominant}) | | | | | |`,
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
      const b = beforeOf(was.full, row, ['fleet', 'speed', 'jobs']);
      const bSim = b ? stats0(b.phoenix?.map((p) => p.simCalls)) : undefined;
      L.push(
        `| ${fleetName(row.fleet)} | ${row.speed} | ${row.jobs} | ${row.targets} | ${row.runs} | ${med(row.hostCalls)} (${med(row.simCalls)}) | ${b ? `${med(b.hostCalls)} (${bSim ?? '–'})` : '–'} | ${mmm(row.makespanS, f1)} | ${med(b?.makespanS, f1)} | ${f1(row.model.bound)} (${row.model.dominant}) | ${pct(row.ratioModel)} | ${b ? pct(b.ratioModel) : '–'} | ${mmm(row.makeModelS, f1)} | ${mmm(row.makeMeasuredS, f1)} | ${j1} |`,
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
    const topRow = full.find((x) => x.fleet === 'top' && !x.failed);
    if (topRow?.hostCalls) {
      L.push(
        `- Goal "a full build of the top-level fleet in at most 160 host calls": ${yes(topRow.hostCalls.median <= 160)} — ${f0(topRow.hostCalls.median)}. See *Findings* for what is left and where.`,
      );
    }
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
    const b = was.one;
    L.push(
      '| fleet | speed | runs | steps run | targets 103 needs | steps of a full build | host calls (simulator) | before | wall s | before | full build makespan s |',
    );
    L.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    L.push(
      `| ${fleetName(one.fleet)} | ${one.speed} | ${one.runs} | ${mmm(one.steps)} | ${one.needed} (guests ${one.guestsNeeded.join(', ')}) | ${one.fullSteps} of ${one.allTargets} targets | ${med(one.hostCalls)} (${med(one.simCalls)}) | ${b ? `${med(b.hostCalls)} (${med(b.simCalls)})` : '–'} | ${mmm(one.wallS, f1)} | ${med(b?.wallS, f1)} | ${one.fullMakespanS !== undefined ? f1(one.fullMakespanS) : '–'} |`,
    );
    if (one.hostCalls)
      L.push(
        `- Goal "build 103 on an empty host in at most 20 host calls": ${yes(one.hostCalls.median <= 20)} — ${f0(one.hostCalls.median)}.`,
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
    const bl = was.load?.fleet === ld.fleet ? was.load : undefined;
    L.push('| phase | ms | before | | |');
    L.push('| --- | --- | --- | --- | --- |');
    L.push(
      `| load, cold (config changed: esbuild bundles it) | ${mmm(ld.load.cold.afterNode)} | ${med(bl?.load.cold.afterNode)} | with Node start-up | ${mmm(ld.load.cold.withNode)} |`,
    );
    L.push(
      `| load, warm (bundle reused from .phoenix/cache) | ${mmm(ld.load.warm.afterNode)} | ${med(bl?.load.warm.afterNode)} | with Node start-up | ${mmm(ld.load.warm.withNode)} |`,
    );
    for (const [label, p, b] of [
      ['empty host', ld.empty, bl?.empty],
      ['built host', ld.built, bl?.built],
    ]) {
      if (!p) continue;
      L.push(`| ${label}: load (in the engine process) | ${mmm(p.loadMs)} | ${med(b?.loadMs)} | | |`);
      L.push(
        `| ${label}: expand to ${p.targets} targets + graph | ${mmm(p.expandMs)} | ${med(b?.expandMs)} | | |`,
      );
      L.push(
        `| ${label}: state read (${f0(p.readCalls.median)} host calls; before ${b ? f0(b.readCalls.median) : '–'}) | ${mmm(p.readMs)} | ${med(b?.readMs)} | | |`,
      );
      L.push(
        `| ${label}: plan (${p.stale} stale) | ${mmm(p.planMs)} | ${med(b?.planMs)} | heap after / peak RSS MiB | ${f0(p.heapMb.median)} / ${mmm(p.rssMb)} |`,
      );
    }
    L.push(
      `| \`phoenix build --sim --dry-run\`, empty host, whole process | ${mmm(ld.dryRun.wallMs)} | ${med(bl?.dryRun.wallMs)} | peak RSS MiB | ${mmm(ld.dryRun.rssMb)} |`,
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
  fs.writeFileSync(
    path.join(root, 'BENCHMARKS.md'),
    renderReport(results, readFindings(root), readBefore(root)),
  );
  console.log('wrote BENCHMARKS.md');
}

/** Median of a plain list (the before-file keeps per-run figures for some cases). */
function stats0(xs) {
  const s = (xs ?? []).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  const m = s.length >> 1;
  return f0(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);
}

/** The figures the tables show as "before" (bench/before.json, optional). */
export function readBefore(root) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'bench/before.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The hand-written analysis of the figures, bench/findings.md (optional). */
export function readFindings(root) {
  try {
    return fs.readFileSync(path.join(root, 'bench/findings.md'), 'utf8');
  } catch {
    return undefined;
  }
}
