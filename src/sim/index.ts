// The simulator as a library, for the build command (`--sim`), tests and benchmarks. The
// executables in bin/sim call `main` through dist/sim.js.
export { main } from './cli.js';
export { type SimEnv, simEnv } from './env.js';
export { type FaultRule, type FaultSpec, parseFaults } from './faults.js';
export {
  DEFAULT_CLOUD_IMAGE,
  DEFAULT_TEMPLATE,
  type EnsureResult,
  ensureSimHost,
  initSimHost,
  isInitialized,
  resetSimHost,
  type SimNeeds,
  type SimSummary,
  type StorageNeed,
  showSimHost,
} from './init.js';
export { LATENCY_S, type LatencyOp } from './latency.js';
