// The simulator's environment: where the fake host lives and how fast it runs.
import { resolve } from 'node:path';

export interface SimEnv {
  /** State folder (a fake host root). PHOENIX_SIM_ROOT, default `.phoenix/sim` under the cwd. */
  root: string;
  /** Latency scale: 0 = no sleeping (tests), 1 = realistic (benchmarks). PHOENIX_SIM_SPEED, default 1. */
  speed: number;
  /** Fault rules (see faults.ts). PHOENIX_SIM_FAULTS, default none. */
  faults: string;
  /** Node name of the simulated host. PHOENIX_SIM_NODE, default `pve`. */
  node: string;
  /** Seconds (real, not scaled) from `qm start` until the guest agent answers; overrides the model. */
  agentDelayS: number | undefined;
}

export function simEnv(env: NodeJS.ProcessEnv = process.env): SimEnv {
  const speed = Number(env.PHOENIX_SIM_SPEED ?? '1');
  const agent = env.PHOENIX_SIM_AGENT_DELAY;
  return {
    root: resolve(env.PHOENIX_SIM_ROOT || '.phoenix/sim'),
    speed: Number.isFinite(speed) && speed >= 0 ? speed : 1,
    faults: env.PHOENIX_SIM_FAULTS ?? '',
    node: env.PHOENIX_SIM_NODE || 'pve',
    agentDelayS: agent !== undefined && Number.isFinite(Number(agent)) ? Number(agent) : undefined,
  };
}
