#!/usr/bin/env node
// Benchmark: how long loading a config takes in a fresh Node process — bundle with esbuild,
// import, validate — measured from the first line of the process's script (i.e. after Node has
// started) to the resolved config. Budget: 100 ms for the legacy fleet's config. Two series: cold
// (config changed since the last load: esbuild runs) and warm (bundle reused from .phoenix/cache).
//
//   node bench/config-load.mjs [config] [--runs N] [--strict]
//
// config defaults to the repository's phoenix.config.ts (the imported legacy fleet). Each run is a new process, so
// every run pays the start-up costs a `phoenix` invocation pays. --strict: exit 1 if a series'
// median is over budget.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const BUDGET_MS = 100;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const runs = Number(value('--runs', '9'));
const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs');
const config = path.resolve(positional[0] ?? path.join(root, 'phoenix.config.ts'));
if (!fs.existsSync(config)) {
  console.error(`${config} not found: pass a config (the legacy fleet's is written by \`phoenix import\`)`);
  process.exit(2);
}

// The loader as the CLI bundles it; placed in dist/ so it finds dist/dsl.js (the authoring runtime)
// the way dist/cli.js does. Building it is not part of the measurement.
const loader = path.join(root, 'dist/bench-config-load.mjs');
await build({
  entryPoints: [path.join(root, 'src/dsl/load.ts')],
  outfile: loader,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
});
if (!fs.existsSync(path.join(root, 'dist/dsl.js'))) {
  console.error('dist/dsl.js is missing: run `npm run build` first');
  process.exit(2);
}

const child = (cache) => `
const t0 = performance.now();
const { loadConfig } = await import(${JSON.stringify(loader)});
const r = await loadConfig(${JSON.stringify(config)}, { checkFiles: true, cache: ${cache} });
const t1 = performance.now();
console.log(JSON.stringify({ ok: r.ok, guests: r.ok ? r.value.guests.size : 0, problems: r.ok ? 0 : r.error.length, loadMs: t1 - t0, sinceProcessStartMs: t1 }));
`;

function series(cache) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const p = spawnSync(process.execPath, ['--input-type=module', '-e', child(cache)], {
      cwd: root,
      encoding: 'utf8',
    });
    if (p.status !== 0) {
      console.error(p.stderr || p.stdout);
      process.exit(2);
    }
    samples.push(JSON.parse(p.stdout.trim().split('\n').pop()));
  }
  return samples;
}
// Cold: the config changed since the last load (esbuild bundles it). Warm: unchanged, the bundle
// comes from .phoenix/cache (one priming run first).
const cold = series(false);
series(true);
const warm = series(true);

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s.at(-1) };
};
const fmt = ({ min, median, max }) =>
  `median ${median.toFixed(1)} ms (min ${min.toFixed(1)}, max ${max.toFixed(1)})`;
const first = warm[0];
console.log(`config: ${path.relative(process.cwd(), config) || config}`);
console.log(
  `result: ${first.ok ? `valid, ${first.guests} guests` : `${first.problems} problems (timed anyway)`}; ${runs} runs per series, one process each`,
);
let over = false;
for (const [name, samples] of [
  ['cold (changed config, esbuild)', cold],
  ['warm (unchanged, cached bundle)', warm],
]) {
  const load = stats(samples.map((s) => s.loadMs));
  const total = stats(samples.map((s) => s.sinceProcessStartMs));
  over ||= load.median > BUDGET_MS;
  console.log(`${name}`);
  console.log(
    `  after Node started:      ${fmt(load)}  budget ${BUDGET_MS} ms  ${load.median <= BUDGET_MS ? 'OK' : 'OVER'}`,
  );
  console.log(`  with Node's own start-up: ${fmt(total)}`);
}
if (flag('--strict') && over) process.exit(1);
