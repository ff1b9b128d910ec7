// A clone whose template was rebuilt: reported as outdated (warn, the default) or replaced
// (onSourceChange: 'replace', needs --allow-replace).
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ok, type Project, project } from './helpers.js';

describe('rebuilt clone source', () => {
  let p: Project;
  beforeAll(() => {
    p = project('fleet');
    ok(p.run(['build', '--sim']));
    // The template's feature changes: a converted template cannot run it, so it is re-created.
    appendFileSync(path.join(p.dir, 'features', 'base.sh'), 'echo v2\n');
    const r = p.run(['build', '900', '--sim', '--allow-replace']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
  });

  it('by default the clones are reported as outdated and kept', () => {
    const r = p.run(['build', '--sim', '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    for (const id of [103, 104, 105])
      expect(r.stderr).toContain(`guest ${id} was cloned from 900 before 900 was rebuilt`);
    expect(r.stdout).not.toMatch(/10[345]:exists/);
  });

  it("onSourceChange: 'replace' plans a replace, refused without --allow-replace, done with it", () => {
    p.edit('phoenix.config.ts', /(name: 'worker',)/, "$1\n      onSourceChange: 'replace',");
    const refused = p.run(['build', '--sim']);
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/replace guest 105/);
    const r = p.run(['build', '--sim', '--allow-replace']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const clones = p.calls().filter((c) => c.cmd === 'pct' && c.args[0] === 'clone' && c.args[2] === '105');
    expect(clones.length).toBe(2);
    const again = p.run(['build', '--sim', '--dry-run']);
    expect(again.stderr).not.toContain('guest 105 was cloned');
  });
});

describe('lifecycle snapshots', () => {
  let p: Project;
  const snaps = (id: number) =>
    (p.hostFile(`/etc/pve/nodes/pve/lxc/${id}.conf`) ?? '')
      .split('\n')
      .filter((l) => l.startsWith('['))
      .sort();
  beforeAll(() => {
    p = project('fleet');
    ok(p.run(['build', '104', '--sim']));
  });

  it('are taken at their declared points', () => {
    expect(snaps(104)).toEqual(['[configured]', '[provisioned]']);
  });

  it('one taken before the current features is stale and retaken (delete + snapshot); the earlier one stays', () => {
    appendFileSync(path.join(p.dir, 'features', 'docker.sh'), 'echo v2\n');
    const plan = p.run(['build', '104', '--sim', '--dry-run']);
    expect(plan.stdout).toMatch(
      /lxc\/104:snapshot:provisioned\s+\[update\]\s+pct delsnapshot 104 provisioned; pct snapshot 104 provisioned/,
    );
    expect(plan.stdout).not.toMatch(/snapshot:configured/);
    const before = p.calls().length;
    const r = p.run(['build', '104', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    const snapCalls = p
      .calls()
      .slice(before)
      .filter((c) => c.cmd === 'pct' && /snapshot/.test(c.args[0] ?? ''))
      .map((c) => c.args.slice(0, 3).join(' '));
    expect(snapCalls).toEqual(['delsnapshot 104 provisioned', 'snapshot 104 provisioned']);
    expect(snaps(104)).toEqual(['[configured]', '[provisioned]']);
  });
});
