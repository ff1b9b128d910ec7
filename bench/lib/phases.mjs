#!/usr/bin/env node
// Times the phases of planning a build in a fresh process, with the engine's own code:
// load (bundle + import + validate), expand + graph, host state read, plan; and memory.
//
//   node bench/lib/phases.mjs <config> <simRoot>
//
// The host is the simulator, spawned per call as `phoenix build --sim` does (speed from
// PHOENIX_SIM_SPEED). Prints one line of JSON.
import path from 'node:path';
import { loadEngine, ROOT } from './engine.mjs';

const [config, simRoot] = process.argv.slice(2);
const E = await loadEngine();
const t0 = performance.now();
const loaded = await E.loadConfig(path.resolve(config));
if (!loaded.ok) {
  console.error(JSON.stringify(loaded.error).slice(0, 500));
  process.exit(2);
}
const t1 = performance.now();
const engine = E.prepareEngine(loaded.value);
if (!engine.ok) {
  console.error(engine.error);
  process.exit(2);
}
const t2 = performance.now();
const root = path.resolve(simRoot);
E.ensureSimHost(root, E.simNeeds(loaded.value), false);
const runner = new E.LocalRunner('sim', root, {
  PATH: `${path.join(process.env.PHOENIX_BENCH_APP ?? ROOT, 'bin/sim')}${path.delimiter}${process.env.PATH}`,
  PHOENIX_SIM_ROOT: root,
});
const host = new E.Host(runner);
const t3 = performance.now();
const read = await host.readState(E.readNeeds(loaded.value));
if (!read.ok) {
  console.error(read.error);
  process.exit(1);
}
const t4 = performance.now();
const verdicts = E.planFor(engine.value, read.value, engine.value.order, new Set());
const t5 = performance.now();
console.log(
  JSON.stringify({
    guests: loaded.value.guests.size,
    targets: engine.value.order.length,
    stale: [...verdicts.values()].filter((v) => v.stale).length,
    loadMs: t1 - t0,
    expandMs: t2 - t1,
    readMs: t4 - t3,
    readCalls: runner.calls.reads + runner.calls.writes,
    planMs: t5 - t4,
    heapMb: process.memoryUsage().heapUsed / 2 ** 20,
    rssKb: process.resourceUsage().maxRSS,
  }),
);
