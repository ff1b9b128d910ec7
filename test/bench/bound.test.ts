// The makespan bound and the Makefile generator on small hand-made graphs whose answers are
// known, plus durations derived from a call trace.
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper without types
import { durationsFromTrace, makespanBound } from '../../bench/lib/bound.mjs';
// @ts-expect-error plain ESM helper without types
import { makefileFor, ruleName } from '../../bench/lib/makefile.mjs';

type T = { id: string; deps: string[]; guest: number; kind: 'lxc' | 'vm'; name: string };
const t = (id: string, deps: string[] = []): T => {
  const m = /^(lxc|vm)\/(\d+):(.*)$/.exec(id)!;
  return { id, deps, guest: Number(m[2]), kind: m[1] as 'lxc' | 'vm', name: m[3]! };
};

// A CT template 900 and three linked clones of it; each clone has one more step.
const targets = [
  t('lxc/900:exists'),
  t('lxc/900:template', ['lxc/900:exists']),
  ...[101, 102, 103].flatMap((v) => [
    t(`lxc/${v}:exists`, ['lxc/900:template']),
    t(`lxc/${v}:running`, [`lxc/${v}:exists`]),
  ]),
];
const guests = [
  { vmid: 900, kind: 'lxc', template: true },
  ...[101, 102, 103].map((vmid) => ({ vmid, kind: 'lxc', template: false, cloneFrom: 900 })),
];
const durations = new Map<string, number>([
  ['lxc/900:exists', 20],
  ['lxc/900:template', 2],
  ...[101, 102, 103].flatMap((v): [string, number][] => [
    [`lxc/${v}:exists`, 4],
    [`lxc/${v}:running`, 3],
  ]),
]);

describe('makespanBound', () => {
  it('takes the serialized clones of one CT template as the bound when they dominate', () => {
    const b = makespanBound({ targets, guests, durations, read: 1, jobs: 8 });
    expect(b.criticalPath).toBe(29); // 20 + 2 + 4 + 3
    // 22 (template done) + 3 × 4 (clones one at a time) + 3 (the last clone's tail)
    expect(b.clone).toMatchObject({ bound: 37, source: 900, clones: 3 });
    expect(b.bound).toBe(38);
    expect(b.dominant).toBe('clones of 900');
    expect(b.serial).toBe(1 + 20 + 2 + 3 * 7);
  });

  it('falls back to the work bound with few job slots', () => {
    const b = makespanBound({ targets, guests, durations, read: 0, jobs: 1 });
    expect(b.bound).toBe(43);
    expect(b.dominant).toBe('work / j');
  });

  it('does not serialize VM clones', () => {
    const vms = targets.map((x) => ({
      ...x,
      id: x.id.replace('lxc', 'vm'),
      deps: x.deps.map((d) => d.replace('lxc', 'vm')),
      kind: 'vm' as const,
    }));
    const vmGuests = guests.map((g) => ({ ...g, kind: 'vm' }));
    const vmDur = new Map([...durations].map(([k, v]) => [k.replace('lxc', 'vm'), v]));
    const b = makespanBound({ targets: vms, guests: vmGuests, durations: vmDur, read: 0, jobs: 8 });
    expect(b.bound).toBe(29);
    expect(b.dominant).toBe('critical path');
  });
});

describe('durationsFromTrace', () => {
  it('sums the charges per target, counts untargeted calls as the state read, and adds the agent wait', () => {
    const vmTargets = [t('vm/200:running'), t('vm/200:agent', ['vm/200:running'])];
    const trace = [
      { target: null, cmd: 'pvesh', args: ['get', '/nodes'], charged: 0.8 },
      { target: 'vm/200:running', cmd: 'qm', args: ['start', '200'], charged: 2.6 },
      { target: 'vm/200:running', cmd: 'qm', args: ['set', '200'], charged: 1 },
      { target: 'vm/200:agent', cmd: 'qm', args: ['guest', 'cmd', '200', 'ping'], charged: 0.8 },
    ];
    const { durations: d, read } = durationsFromTrace(vmTargets, trace, { agentBoot: 25, perCall: 0.1 });
    expect(read).toBeCloseTo(0.9);
    expect(d.get('vm/200:running')).toBeCloseTo(3.8);
    // the agent answers 25 s after `qm start`; 1.1 s of that passed inside `running`
    expect(d.get('vm/200:agent')).toBeCloseTo(0.9 + 25 - 1.1);
  });
});

describe('makefileFor', () => {
  it('writes one rule per target with the same dependencies, sleeps and guest locks', () => {
    const mk: string = makefileFor({ targets, guests, durations, read: 1.5, lockDir: '/L' });
    expect(ruleName('lxc/101:feature:docker')).toBe('lxc_101_feature_docker');
    expect(mk).toContain('read:\n\t@sleep 1.500');
    expect(mk).toContain(
      'lxc_101_exists: read lxc_900_template\n\t@flock /L/guest-900 flock /L/guest-101 sleep 4.000',
    );
    expect(mk).toContain('lxc_101_running: read lxc_101_exists\n\t@flock /L/guest-101 sleep 3.000');
    expect(mk).toMatch(/^all: lxc_101_running lxc_102_running lxc_103_running$/m);
  });
});
