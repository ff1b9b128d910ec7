// Building guests on the simulator from a fresh state folder: order, no-op rebuilds, the dry run,
// staleness after edits and drift, failures and --keep-going, the cost of the state read. The CLI
// runs where its events, exit codes and output are the contract; hosts are prepared and plans
// judged in process (inproc.ts), which is the same pipeline without a process per host call.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isRead, type Project, project, staleTargets } from './helpers.js';

type Ev = Record<string, unknown>;
const ofType = (events: Ev[], type: string) => events.filter((e) => e.type === type);
const targetsOf = (events: Ev[], type: string) => ofType(events, type).map((e) => e.target as string);

function depsOf(p: Project): Map<string, string[]> {
  const r = p.run(['graph', '--sim', '--targets', '--format', 'json']);
  expect(r.status).toBe(0);
  const json = JSON.parse(r.stdout) as { targets: Array<{ id: string; deps: string[] }> };
  return new Map(json.targets.map((t) => [t.id, t.deps]));
}

function expectValidOrder(events: Ev[], deps: Map<string, string[]>) {
  const finished = new Set<string>();
  for (const e of events) {
    if (e.type === 'start') {
      for (const d of deps.get(e.target as string) ?? [])
        expect(finished, `${e.target} started before ${d}`).toContain(d);
    }
    if (e.type === 'done' || e.type === 'fresh') finished.add(e.target as string);
  }
}

function edit(p: Project, file: string, from: string | RegExp, to: string) {
  const f = path.join(p.dir, file);
  const text = readFileSync(f, 'utf8');
  const next = text.replace(from, to);
  expect(next).not.toBe(text);
  writeFileSync(f, next);
}

describe('build one guest (small fixture: template 900, clones 103 and 104)', { timeout: 240_000 }, () => {
  let p: Project;
  beforeAll(() => {
    p = project('small');
  });

  it('builds exactly 900 and 103, in a valid order', () => {
    const deps = depsOf(p);
    const r = p.events(['build', '103', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    const started = targetsOf(r.events, 'start');
    expect(started.length).toBeGreaterThan(0);
    for (const t of started) expect(t).toMatch(/^lxc\/(900|103):/);
    for (const t of [...deps.keys()].filter((id) => /^lxc\/(900|103):/.test(id))) {
      expect([
        ...targetsOf(r.events, 'done'),
        ...targetsOf(r.events, 'fresh'),
        ...targetsOf(r.events, 'start'),
      ]).toContain(t);
    }
    expectValidOrder(r.events, deps);
    const summary = ofType(r.events, 'summary')[0]!;
    expect(summary.failed).toEqual([]);
  });

  it('a second run does nothing and issues no mutating call', () => {
    const before = p.calls().length;
    const r = p.events(['build', '103', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    expect(ofType(r.events, 'start')).toEqual([]);
    const after = p.calls().slice(before);
    expect(after.filter((c) => !isRead(c))).toEqual([]);
  });

  it('dry-run --json touches nothing and --exit-code tells whether something is stale', () => {
    const before = p.calls().length;
    const r = p.run(['build', '--sim', '--dry-run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { steps: Array<{ target: string; guest: number; action: string }> };
    expect(plan.steps.map((s) => s.guest)).toEqual(plan.steps.map(() => 104));
    expect(
      p
        .calls()
        .slice(before)
        .filter((c) => !isRead(c)),
    ).toEqual([]);
    expect(p.run(['build', '--sim', '--dry-run', '--exit-code']).status).toBe(1);
    expect(p.run(['build', '103', '--sim', '--dry-run', '--exit-code']).status).toBe(0);
  });

  it('changing memory makes only the config target stale, naming old and new values', async () => {
    await p.seed();
    edit(p, 'phoenix.config.ts', 'memoryMb: 2048', 'memoryMb: 4096');
    const plan = await (await p.inproc()).plan();
    if (!plan.ok) throw new Error(plan.problems.join('; '));
    expect(plan.steps.map((s) => s.target)).toEqual(['lxc/103:config']);
    expect(plan.steps[0]!.reasons[0]).toMatchObject({
      kind: 'drifted',
      field: 'memory',
      host: '2048',
      declared: '4096',
    });
    await p.seed();
    expect(await staleTargets(p)).toEqual([]);
  });

  it('changing a feature script makes exactly its users stale', async () => {
    writeFileSync(path.join(p.dir, 'features/docker.sh'), '#!/bin/bash\necho docker v2\n');
    const plan = await (await p.inproc()).plan();
    if (!plan.ok) throw new Error(plan.problems.join('; '));
    expect(plan.steps.map((s) => s.target).sort()).toEqual([
      'lxc/103:feature:docker',
      'lxc/104:feature:docker',
    ]);
    expect(plan.steps[0]!.reasons.map((x) => x.kind)).toContain('inputs-changed');
    const explain = p.run(['explain', '103:feature:docker', '--sim']);
    expect(explain.stdout).toMatch(
      /stale .*\n.*inputs changed since the stamp: scripts \(features\/docker.sh\)/,
    );
    await p.seed();
  });

  it('a guest deleted behind its back is stale with its dependents, and a build restores it', async () => {
    expect(p.simCmd('pct', ['stop', '103']).status).toBe(0);
    expect(p.simCmd('pct', ['destroy', '103']).status).toBe(0);
    const plan = await (await p.inproc()).plan();
    if (!plan.ok) throw new Error(plan.problems.join('; '));
    const guests = new Set(plan.steps.map((s) => s.guest));
    expect(guests).toEqual(new Set([103, 104]));
    expect(plan.steps.map((s) => s.target)).toContain('lxc/103:exists');
    expect(plan.steps.map((s) => s.target)).toContain('lxc/104:feature:docker');
    const status = p.run(['status', '--sim']);
    expect(status.stdout).toMatch(/103\s+web\s+lxc\s+missing/);
    await p.seed();
    expect(await staleTargets(p)).toEqual([]);
  });

  it('graph prints mermaid with the 900 → 103 clone edge', () => {
    const r = p.run(['graph', '--sim']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('flowchart LR');
    expect(r.stdout).toContain('g900 -->|clone| g103');
    // Every line is a statement mermaid's flowchart grammar knows.
    for (const l of lines.slice(1)) {
      expect(l).toMatch(
        /^ {2}(g\d+(\["[^"]*"\]|\[\["[^"]*"\]\])|g\d+ -(->|\.->)\|\w+\| g\d+|classDef \w+ .+|class g\d+ \w+)$/,
      );
    }
    const t = p.run(['graph', '--sim', '--targets']);
    expect(t.stdout).toContain('t_lxc_900_template --> t_lxc_103_exists');
  });
});

describe('the whole fleet fixture', { timeout: 240_000 }, () => {
  it('builds, then a second run does nothing', () => {
    const p = project('fleet');
    const r = p.events(['build', '--sim', '-j', '4']);
    expect(r.status, r.stderr).toBe(0);
    const again = p.events(['build', '--sim']);
    expect(ofType(again.events, 'start')).toEqual([]);
    const summary = ofType(again.events, 'summary')[0] as { hostCalls: { writes: number } };
    expect(summary.hostCalls.writes).toBe(0);
  });

  it('a failure stops new work; --keep-going finishes independent branches; a re-run completes', async () => {
    const p = project('fleet');
    const fault = { PHOENIX_SIM_FAULTS: 'cmd=pct:op=clone:vmid=101' };
    const r = p.events(['build', '--sim', '-j', '2'], fault);
    expect(r.status).not.toBe(0);
    const failAt = r.events.findIndex((e) => e.type === 'fail');
    expect(failAt).toBeGreaterThan(-1);
    expect(r.events.slice(failAt).filter((e) => e.type === 'start')).toEqual([]);
    const summary = ofType(r.events, 'summary')[0] as {
      notStarted: string[];
      failed: Array<{ stderrTail: string }>;
    };
    expect(summary.notStarted.length).toBeGreaterThan(0);
    expect(summary.failed[0]!.stderrTail).toMatch(/simulated fault|clone failed/);

    // The independent branches are built in process; the CLI's --keep-going then meets the same
    // failure with only 101's branch left.
    const k = await (await p.inproc(fault)).build([], { jobs: 2, keepGoing: true });
    expect(k.ok).toBe(false);
    expect(targetsOf(k.events, 'blocked')).toContain('lxc/102:feature:docker');
    // The branches that do not need 101 are complete; 101's is not.
    for (const id of ['1001', '801', '900']) expect(await staleTargets(p, [id]), id).toEqual([]);
    expect(await staleTargets(p, ['101'])).not.toEqual([]);
    const cli = p.events(['build', '--sim', '-j', '2', '--keep-going'], fault);
    expect(cli.status).not.toBe(0);
    expect(targetsOf(cli.events, 'blocked')).toContain('lxc/102:feature:docker');

    await p.seed();
    expect(await staleTargets(p)).toEqual([]);
  });
});

describe('state reads cost O(1) host calls', { timeout: 300_000 }, () => {
  function fleetOf(n: number): string {
    const clones = Array.from({ length: n - 1 }, (_, i) => {
      const id = 200 + i;
      return `    ${id}: lxc({ name: 'c${id}', cloneFrom: 900, net: [{ bridge: 'vmbr0', ip: 'dhcp' }] }),`;
    }).join('\n');
    return `import { defineConfig, lxc } from 'phoenix-pve';
export default defineConfig({
  storages: {
    local: { type: 'dir', content: ['vztmpl', 'iso', 'import'], path: '/var/lib/vz' },
    'local-lvm': { type: 'lvmthin', content: ['rootdir', 'images'] },
  },
  guests: {
    900: lxc({ name: 'tpl', ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst', rootfs: { storage: 'local-lvm', sizeGb: 4 }, template: true }),
${clones}
  },
});
`;
  }

  it('the same number of calls for 5 guests as for 50', async () => {
    const counts: number[] = [];
    for (const n of [5, 50]) {
      const p = project('small');
      writeFileSync(path.join(p.dir, 'phoenix.config.ts'), fleetOf(n));
      await p.seed([], { jobs: 4 });
      const r = p.events(['build', '--sim']);
      const read = ofType(r.events, 'state-read')[0] as { hostCalls: number; guests: number };
      expect(read.guests).toBe(n);
      expect(ofType(r.events, 'start')).toEqual([]);
      counts.push(read.hostCalls);
    }
    expect(counts[0]).toBe(counts[1]);
  });
});
