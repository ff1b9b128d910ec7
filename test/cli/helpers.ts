// A temp copy of a fixture under test/fixtures/ with its own simulator state folder.
import { cpSync } from 'node:fs';
import path from 'node:path';
import { ROOT, tempDir } from '../engine/helpers.js';

export interface Fixture {
  dir: string;
  simRoot: string;
  /** Environment for a run against this fixture's simulator (speed 0 unless overridden). */
  env(extra?: Record<string, string>): Record<string, string>;
}

export function fixture(rel: string): Fixture {
  const dir = tempDir('phoenix-cli-');
  cpSync(path.join(ROOT, 'test', 'fixtures', rel), dir, { recursive: true });
  const simRoot = path.join(dir, '.phoenix', 'sim');
  return {
    dir,
    simRoot,
    env: (extra = {}) => ({
      PHOENIX_SIM_ROOT: simRoot,
      PHOENIX_SIM_SPEED: '0',
      PHOENIX_RETRY_BASE_MS: '10',
      ...extra,
    }),
  };
}
