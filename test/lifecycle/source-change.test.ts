// A clone whose template was rebuilt: reported as outdated (warn, the default) or replaced
// (onSourceChange: 'replace', needs --allow-replace).
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Project, project } from './helpers.js';

describe('rebuilt clone source', () => {
  let p: Project;
  beforeAll(async () => {
    p = project('fleet');
    await p.seed();
    // The template's feature changes: a converted template cannot run it, so it is re-created.
    appendFileSync(path.join(p.dir, 'features', 'base.sh'), 'echo v2\n');
    await p.seed(['900'], { allowReplace: true });
  });

  it('by default the clones are reported as outdated and kept', async () => {
    const plan = await (await p.inproc()).plan();
    if (!plan.ok) throw new Error(plan.problems.join('; '));
    expect(plan.problems).toEqual([]);
    for (const id of [103, 104, 105])
      expect(plan.warnings.join('\n')).toContain(`guest ${id} was cloned from 900 before 900 was rebuilt`);
    expect(plan.steps.map((s) => s.target).filter((t) => /10[345]:exists/.test(t))).toEqual([]);
  });

  it("onSourceChange: 'replace' plans a replace, refused without --allow-replace, done with it", async () => {
    p.edit('phoenix.config.ts', /(name: 'worker',)/, "$1\n      onSourceChange: 'replace',");
    const refused = await (await p.inproc()).build();
    expect(refused.ok).toBe(false);
    expect(refused.problems.join('\n')).toMatch(/replace guest 105/);
    await p.seed([], { allowReplace: true });
    const clones = p.calls().filter((c) => c.cmd === 'pct' && c.args[0] === 'clone' && c.args[2] === '105');
    expect(clones.length).toBe(2);
    const again = await (await p.inproc()).plan();
    if (!again.ok) throw new Error(again.problems.join('; '));
    expect(again.warnings.join('\n')).not.toContain('guest 105 was cloned');
  });
});

describe('lifecycle snapshots', () => {
  let p: Project;
  const snaps = (id: number) =>
    (p.hostFile(`/etc/pve/nodes/pve/lxc/${id}.conf`) ?? '')
      .split('\n')
      .filter((l) => l.startsWith('['))
      .sort();
  beforeAll(async () => {
    p = project('fleet');
    await p.seed(['104']);
  });

  it('are taken at their declared points', () => {
    expect(snaps(104)).toEqual(['[configured]', '[provisioned]']);
  });

  it('one taken before the current features is stale and retaken (delete + snapshot); the earlier one stays', async () => {
    appendFileSync(path.join(p.dir, 'features', 'docker.sh'), 'echo v2\n');
    const plan = await (await p.inproc()).plan(['104']);
    if (!plan.ok) throw new Error(plan.problems.join('; '));
    expect(plan.steps.filter((s) => s.target === 'lxc/104:snapshot:provisioned')).toEqual([
      expect.objectContaining({
        action: 'update',
        step: 'pct delsnapshot 104 provisioned; pct snapshot 104 provisioned',
      }),
    ]);
    expect(plan.steps.map((s) => s.target).filter((t) => t.includes('snapshot:configured'))).toEqual([]);
    const before = p.calls().length;
    await p.seed(['104']);
    const snapCalls = p
      .calls()
      .slice(before)
      .filter((c) => c.cmd === 'pct' && /snapshot/.test(c.args[0] ?? ''))
      .map((c) => c.args.slice(0, 3).join(' '));
    expect(snapCalls).toEqual(['delsnapshot 104 provisioned', 'snapshot 104 provisioned']);
    expect(snaps(104)).toEqual(['[configured]', '[provisioned]']);
  });
});
