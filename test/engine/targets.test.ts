// Target kinds and their edges, in-process: what `defineTarget` makes of a kind, the order of a
// guest's targets from the registry's list, plan problems of a kind, and the one rule that makes
// a target stale because of what runs before it (plan and scheduler alike).
import { describe, expect, it } from 'vitest';
import type { Config, LxcGuest } from '../../src/dsl/model.js';
import { emptyHostState } from '../../src/pve/state.js';
import { dependencyStale } from '../../src/runner/plan.js';
import { noStamps } from '../../src/runner/stamps.js';
import { type Target, type TargetContext, targetId } from '../../src/runner/types.js';
import { defineTarget, Made } from '../../src/targets/define.js';
import { expandConfig, expandGuest, preflightProblems } from '../../src/targets/registry.js';
import { configOf, lxcGuest, vmGuest } from '../fixtures/model.js';

const byName = (targets: Target[]) => new Map(targets.map((t) => [t.name, t]));
const ctxOf = (config: Config, g: LxcGuest): TargetContext => ({
  config,
  guest: g,
  state: emptyHostState(),
  gs: undefined,
  stamps: noStamps(),
});

describe('defineTarget', () => {
  const toy = defineTarget<LxcGuest, string>({
    kind: 'toy',
    guest: 'lxc',
    each: (g) => g.features,
    name: (f) => f,
    needs: (_g, made) => made.first('missing', 'config'),
    warn: (g) => (g.features.length > 1 ? 'many toys' : undefined),
    stamp: 'none',
    inputs: (_ctx, f) => ({ f }),
    observe: () => ({
      kind: 'drift',
      drifts: [{ field: 'x', host: '1', declared: '2', needsRestart: true }],
    }),
    describe: (ctx, _obs, f) => `toy ${f} on ${ctx.guest.vmid}`,
    apply: async () => ({ changed: true }),
  });

  it('makes one target per item with the id, edges, default lock and default judgement filled in', () => {
    const g = lxcGuest(101, { features: ['a', 'b'] });
    const config = configOf([g]);
    const made = new Made(expandGuest(g).filter((t) => t.name === 'exists' || t.name === 'config'));
    const warnings: string[] = [];
    const [a, b] = toy.expand(g, made, warnings);
    expect([a?.id, b?.id]).toEqual(['lxc/101:toy:a', 'lxc/101:toy:b']);
    expect(a?.deps).toEqual(['lxc/101:config']);
    expect(warnings).toEqual(['guest 101: many toys']);
    const ctx = ctxOf(config, g);
    expect(a?.locks(ctx)).toEqual(['guest:101']);
    expect(a?.scripts(ctx)).toEqual([]);
    expect(a?.effect(ctx, a.observe(ctx))).toBe('restart');
    expect(b?.describe(ctx, b.observe(ctx))).toBe('toy b on 101');
  });

  it('gives a VM nothing of a CT-only kind', () => {
    expect(toy.expand(vmGuest(200, { features: ['a'] }), new Made([]), [])).toEqual([]);
  });
});

describe("a guest's targets, in the registry's order", () => {
  it('a CT: storage after its idmap and host folders, features in a chain, snapshots after their stage, health last', () => {
    const g = lxcGuest(103, {
      idmap: [{ type: 'uid', containerId: 0, hostId: 200000, size: 1 }],
      mounts: [{ hostPath: '/srv/a', path: '/a' }],
      features: ['f1', 'f2'],
      snapshots: [
        { name: 'cfg', after: 'config' },
        { name: 'feat', after: 'features' },
      ],
      healthCheck: { command: 'true', retries: 0, intervalS: 1 },
    });
    const t = byName(expandGuest(g));
    expect([...t.keys()]).toEqual([
      'exists',
      'node',
      'config',
      'idmap',
      'hostdirs',
      'storage',
      'running',
      'snapshot:cfg',
      'feature:f1',
      'feature:f2',
      'snapshot:feat',
      'health',
    ]);
    expect(t.get('node')?.deps).toEqual(['lxc/103:exists']);
    expect(t.get('config')?.deps).toEqual(['lxc/103:node']);
    expect(t.get('hostdirs')?.deps).toEqual(['lxc/103:idmap']);
    expect(t.get('storage')?.deps).toEqual(['lxc/103:idmap', 'lxc/103:hostdirs']);
    expect(t.get('snapshot:cfg')?.deps).toEqual(['lxc/103:running']);
    expect(t.get('feature:f1')?.deps).toEqual(['lxc/103:running', 'lxc/103:snapshot:cfg']);
    expect(t.get('feature:f2')?.deps).toEqual(['lxc/103:feature:f1']);
    expect(t.get('snapshot:feat')?.deps).toEqual(['lxc/103:feature:f2']);
    expect(t.get('health')?.deps).toEqual(['lxc/103:snapshot:feat']);
  });

  it('a VM template from a cloud image boots for its agent, and is converted after all but running', () => {
    const g = vmGuest(9000, { template: true, image: 'local:import/x.qcow2', app: { script: 'a.sh' } });
    const t = byName(expandGuest(g));
    expect(t.get('agent')?.deps).toEqual(['vm/9000:running']);
    expect(t.get('agent')?.staleAfter).toEqual(['running']);
    expect(t.get('app')?.deps).toEqual(['vm/9000:agent']);
    expect(t.get('template')?.deps).toEqual([
      'vm/9000:exists',
      'vm/9000:node',
      'vm/9000:config',
      'vm/9000:agent',
      'vm/9000:app',
    ]);
    expect(t.has('health')).toBe(false);
  });

  it('warns of snapshots on a template and of provisioning a VM without its agent', () => {
    const { warnings } = expandConfig(
      configOf([
        lxcGuest(905, { template: true, snapshots: [{ name: 's', after: 'config' }] }),
        vmGuest(201, { agent: false, app: { script: 'a.sh' } }),
      ]),
    );
    expect(warnings).toEqual([
      'guest 905: snapshots s are not taken: Proxmox cannot convert a guest with snapshots to a template',
      'guest 201: provisioning a VM needs the guest agent (agent: true)',
    ]);
  });
});

describe('plan problems of a kind', () => {
  it('two guests wanting different owners of one host folder', () => {
    const mount = (uid: number) => [{ hostPath: '/srv/shared', path: '/s', owner: { uid, gid: uid } }];
    const config = configOf([lxcGuest(101, { mounts: mount(33) }), lxcGuest(102, { mounts: mount(34) })]);
    expect(preflightProblems(config)).toEqual([
      expect.stringMatching(
        /^host folder \/srv\/shared: guests want different host owners \(101 → 100033:100033, 102 → 100034:100034\)/,
      ),
    ]);
    expect(preflightProblems(configOf([lxcGuest(101, { mounts: mount(33) })]))).toEqual([]);
  });
});

describe('stale because of what runs before it', () => {
  const web = lxcGuest(104, { dependsOn: [103], features: ['f'] });
  const { targets } = expandConfig(configOf([lxcGuest(103, { features: ['f'] }), web]));
  const all = new Map(targets.map((t) => [t.id, t]));
  const none = () => false;

  it('a service dependent provisions again when its dependency is created anew; its creation does not wait', () => {
    const renewed = new Map([[103, 'lxc/103:exists']]);
    expect(dependencyStale(all.get(targetId('lxc', 104, 'feature:f'))!, all, renewed, none)).toBe(
      'lxc/103:exists',
    );
    expect(dependencyStale(all.get(targetId('lxc', 104, 'exists'))!, all, renewed, none)).toBeUndefined();
    expect(
      dependencyStale(all.get(targetId('lxc', 104, 'feature:f'))!, all, new Map(), none),
    ).toBeUndefined();
  });

  it('a target is stale after a named target of its guest ran (the agent after a start)', () => {
    const vm = expandGuest(vmGuest(7000, { features: ['f'] }));
    const agent = vm.find((t) => t.name === 'agent')!;
    const map = new Map(vm.map((t) => [t.id, t]));
    expect(dependencyStale(agent, map, new Map(), (id) => id === 'vm/7000:running')).toBe('vm/7000:running');
    expect(dependencyStale(agent, map, new Map(), none)).toBeUndefined();
  });
});
