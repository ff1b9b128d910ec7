// The simulator's environment: where the fake host lives and how fast it runs.
import { resolve } from 'node:path';
import { clusterNodes, isCluster, SINGLE_NODE } from './cluster.js';

export interface SimEnv {
  /** State folder (a fake host root). PHOENIX_SIM_ROOT, default `.phoenix/sim` under the cwd. */
  root: string;
  /** Latency scale: 0 = no sleeping (tests), 1 = realistic (benchmarks). PHOENIX_SIM_SPEED, default 1. */
  speed: number;
  /** Fault rules (see faults.ts). PHOENIX_SIM_FAULTS, default none. */
  faults: string;
  /** The node a command runs on. PHOENIX_SIM_NODE, default `pve` (a cluster's first node). */
  node: string;
  /** Seconds (real, not scaled) from `qm start` until the guest agent answers; overrides the model. */
  agentDelayS: number | undefined;
}

export function simEnv(env: NodeJS.ProcessEnv = process.env): SimEnv {
  const speed = Number(env.PHOENIX_SIM_SPEED ?? '1');
  const agent = env.PHOENIX_SIM_AGENT_DELAY;
  const root = resolve(env.PHOENIX_SIM_ROOT || '.phoenix/sim');
  return {
    root,
    speed: Number.isFinite(speed) && speed >= 0 ? speed : 1,
    faults: env.PHOENIX_SIM_FAULTS ?? '',
    node: env.PHOENIX_SIM_NODE || (isCluster(root) ? clusterNodes(root)[0]! : SINGLE_NODE),
    agentDelayS: agent !== undefined && Number.isFinite(Number(agent)) ? Number(agent) : undefined,
  };
}
