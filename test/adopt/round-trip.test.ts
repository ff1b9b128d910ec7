// The adopt round trip: a fleet exists on the (simulated) host, its config is gone; `phoenix
// adopt` declares every guest and stamps it, after which a build changes nothing on the host,
// the adopted config type-checks and `phoenix check` accepts it.
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { project, ROOT } from '../engine/helpers.js';
import { ensureBuilt } from '../import/helpers.js';
import { typeCheck, writesSince } from './helpers.js';
import { hostFleet } from './sim-fleet.js';

beforeAll(() => ensureBuilt());

function adoptAndRebuild(p: ReturnType<typeof project>, guests: number) {
  const config = path.join(p.dir, 'phoenix.config.ts');
  rmSync(config, { force: true });
  const adopted = p.run(['adopt', '--sim']);
  expect(adopted.stderr).toBe('');
  expect(adopted.status).toBe(0);
  expect(adopted.stdout).toContain(`Adopted ${guests} guests into phoenix.config.ts (new file)`);
  expect(existsSync(config)).toBe(true);

  const check = p.run(['check']);
  expect(check.status).toBe(0);
  expect(check.stdout).toContain(`${guests} guests, valid`);
  expect(typeCheck(config)).toBe('');

  const before = p.calls().length;
  const build = p.run(['build', '--sim']);
  expect(build.status).toBe(0);
  expect(writesSince(p, before)).toEqual([]);
  expect(build.stdout).toMatch(/built: 0,/);
  return readFileSync(config, 'utf8');
}

describe('adopt round trip', () => {
  it('the repository fleet, built by phoenix and adopted without its config, rebuilds with zero writes', () => {
    const p = project('fleet');
    for (const f of ['phoenix.config.ts', 'features', 'apps'])
      cpSync(path.join(ROOT, f), path.join(p.dir, f), { recursive: true, force: true });
    const built = p.run(['build', '--sim']);
    expect(built.status).toBe(0);
    const text = adoptAndRebuild(p, 15);
    // Linked clones keep their lineage; templates stay templates.
    expect(text).toMatch(/101: lxc\(\{[\s\S]*?cloneFrom: 900,/);
    expect(text).toMatch(/9000: vm\(\{[\s\S]*?template: true,/);
  }, 600_000);

  it('100 guests made outside phoenix adopt with zero writes on the next build', () => {
    const p = project('fleet');
    hostFleet(p.simRoot, 100);
    const text = adoptAndRebuild(p, 100);
    expect(text).toContain('cloneFrom:');
    expect(text).toContain("fromEnv('PHOENIX_VM_");
    expect(text).not.toMatch(/\$5\$/); // no password hash copied
  }, 600_000);
});
