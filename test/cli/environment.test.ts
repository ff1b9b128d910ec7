import { describe, expect, it } from 'vitest';
import { hostEnv, schedulerTuning } from '../../src/cli/engine.js';
import { DEFAULT_TUNING } from '../../src/runner/scheduler.js';

describe('the environment, read once at the CLI edge', () => {
  it('gives the scheduler its knobs and the steps their limits, defaults where unset or not a number', () => {
    expect(schedulerTuning({})).toEqual(DEFAULT_TUNING);
    expect(
      schedulerTuning({
        PHOENIX_HEAVY_SLOTS: '4',
        PHOENIX_RETRY_BASE_MS: '5',
        PHOENIX_DEBUG: '1',
        PHOENIX_AGENT_WAIT_S: '600',
        PHOENIX_SHUTDOWN_TIMEOUT_S: 'soon',
      }),
    ).toEqual({ ...DEFAULT_TUNING, heavySlots: 4, retryBaseMs: 5, debug: true, agentWaitS: 600 });
  });

  it("takes the simulator's speed for Phoenix's own waits only when PHOENIX_SIM_SPEED is set", () => {
    expect(hostEnv({ PHOENIX_SIM_SPEED: '0' }).simSpeed).toBe(0);
    expect(hostEnv({ PHOENIX_SIM_SPEED: '0.5' }).simSpeed).toBe(0.5);
    expect(hostEnv({}).simSpeed).toBeUndefined();
    expect(hostEnv({ PHOENIX_SIM_SPEED: 'fast' }).simSpeed).toBeUndefined();
  });
});
