// `phoenix import <legacy installation>`: the configs from etc/, the real scripts from bin/ with
// the shared files they source inlined, placeholders only for scripts the installation lacks —
// and a build refuses to run a placeholder on a real host (on the simulator it warns).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/dsl/load.js';
import { placeholderProblems } from '../../src/runner/checks.js';
import type { Verdict } from '../../src/runner/staleness.js';
import { ensureBuilt, phoenix, ROOT, tempDir } from './helpers.js';

const INSTALL = join(ROOT, 'test/fixtures/legacy-install');

beforeAll(() => ensureBuilt());

describe('importing a legacy installation folder', () => {
  const dir = tempDir();
  const out = join(dir, 'phoenix.config.ts');
  let stdout = '';

  beforeAll(() => {
    const r = phoenix(['import', INSTALL, '-o', out, '--no-report']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    stdout = r.stdout;
  });

  it('brings the real feature and application scripts with the files they source inlined', () => {
    expect(stdout).toContain('Imported 2 of 2 legacy guests');
    const base = readFileSync(join(dir, 'features/base_setup.sh'), 'utf8');
    expect(base).toContain('the legacy lxc_setup/phoenix_hypervisor_feature_install_base_setup.sh');
    expect(base).toContain('ensure_pkg() {');
    expect(base).not.toMatch(/^source /m);
    const app = readFileSync(join(dir, 'apps/phoenix_hypervisor_lxc_101.sh'), 'utf8');
    expect(app).toContain('web_ready() {');
    // Inlined once, even when two sourced files source it.
    expect(app.match(/^ensure_pkg\(\) \{/gm)).toHaveLength(1);
    expect(app).toContain('ensure_pkg nginx');
  });

  it('writes a recognisable placeholder only for the script the installation lacks', () => {
    expect(stdout).toMatch(/Created 1 placeholder script\(s\).*: features\/docker\.sh/);
    const docker = readFileSync(join(dir, 'features/docker.sh'), 'utf8');
    expect(docker.split('\n')[1]).toMatch(/^# phoenix:placeholder: /);
  });

  it('a build refuses a placeholder on a real host and warns on the simulator', async () => {
    const loaded = await loadConfig(out);
    if (!loaded.ok) throw new Error(loaded.error.map((d) => d.message).join('\n'));
    const verdict = (guest: number, name: string): Verdict => ({
      target: `lxc/${guest}:${name}`,
      guest,
      name,
      stale: true,
      reasons: [],
      effect: 'update',
      step: '',
      fingerprint: '',
    });
    const verdicts = new Map(
      [verdict(101, 'feature:docker'), verdict(101, 'feature:base_setup'), verdict(101, 'app')].map((v) => [
        v.target,
        v,
      ]),
    );
    expect(placeholderProblems(loaded.value, verdicts)).toEqual([
      expect.stringMatching(/^lxc\/101:feature:docker would run features\/docker\.sh, a placeholder/),
    ]);
    const sim = phoenix(['build', '--sim', '-n', '-c', out], dir);
    expect(sim.stderr).toMatch(
      /warning: lxc\/101:feature:docker would run features\/docker\.sh, a placeholder/,
    );
  });
});
