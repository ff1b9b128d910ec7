// What the benchmarks take from Phoenix's own sources, bundled by bench/lib/engine.mjs into
// dist/bench-engine.mjs (beside dist/dsl.js, which configs import as 'phoenix-pve').
export { loadConfig } from '../../src/dsl/load.ts';
export {
  planFor,
  prepareEngine,
  selection,
  simNeeds,
  stateNeeds as readNeeds,
} from '../../src/pipeline/engine.ts';
export { Host } from '../../src/pve/host.ts';
export { LocalRunner } from '../../src/pve/runner.ts';
export { History } from '../../src/runner/history.ts';
export { completeRead } from '../../src/runner/lazy-read.ts';
export { execute } from '../../src/runner/scheduler.ts';
export { sleeper } from '../../src/runner/types.ts';
export { main as simMain } from '../../src/sim/cli.ts';
export { ensureSimHost } from '../../src/sim/init.ts';
export { LATENCY_S } from '../../src/sim/latency.ts';
