// What the plan says about guests placed across the nodes of a cluster: which way a cross-node
// clone is made and why, and that changing a guest's `node` migrates it (nothing is destroyed).
// In-process: the real expansion and planner, against a 3-node cluster's state.
import { describe, expect, it } from 'vitest';
import type { Guest } from '../../src/dsl/model.js';
import { planFor, prepareEngine } from '../../src/pipeline/engine.js';
import type { HostState } from '../../src/pve/state.js';
import type { Verdict } from '../../src/runner/staleness.js';
import { configOf, lxcGuest, vmGuest } from '../fixtures/model.js';
import { clusterState, put } from './cluster-state.js';

function planOf(guests: Guest[], state: HostState): Map<string, Verdict> {
  const engine = prepareEngine(configOf(guests));
  if (!engine.ok) throw new Error(engine.error);
  return planFor(engine.value, state, engine.value.order, new Set());
}

const verdict = (plan: Map<string, Verdict>, id: string): Verdict => {
  const v = plan.get(id);
  if (!v) throw new Error(`no verdict for ${id}: ${[...plan.keys()].join(', ')}`);
  return v;
};

describe('the plan of a cross-node clone', () => {
  const guests = [
    lxcGuest(900, { template: true, node: 'pve1', rootfs: { storage: 'local', sizeGb: 8 } }),
    lxcGuest(901, { template: true, node: 'pve1', rootfs: { storage: 'ceph-rbd', sizeGb: 8 } }),
    lxcGuest(103, { cloneFrom: 900, node: 'pve2' }),
    lxcGuest(104, { cloneFrom: 901, node: 'pve3' }),
  ];

  function state(): HostState {
    const s = clusterState();
    put(s, 900, 'lxc', 'pve1', 'hostname: g900\nrootfs: local:900/base-900-disk-0.raw,size=8G\ntemplate: 1');
    put(s, 901, 'lxc', 'pve1', 'hostname: g901\nrootfs: ceph-rbd:base-901-disk-0,size=8G\ntemplate: 1');
    return s;
  }

  it('from a local-storage template: a full clone on the source node, then a migration, saying why', () => {
    const plan = planOf(guests, state());
    const exists = verdict(plan, 'lxc/103:exists');
    expect(exists.step).toBe(
      'pct clone 900 103 --hostname g103 --full --description <notes> on pve1, then pct migrate 103 pve2 (offline): ' +
        "900's rootfs is on local storage local (--target needs shared storage); " +
        'full clone: a linked clone on local (dir) could not migrate; or declare a template on pve2 to clone there',
    );
    // One step makes it and puts it on its node: nothing is left for the `node` target.
    expect(verdict(plan, 'lxc/103:node').stale).toBe(false);
  });

  it('from a shared-storage template: one clone with --target, and nothing left to migrate', () => {
    const plan = planOf(guests, state());
    expect(verdict(plan, 'lxc/104:exists').step).toBe(
      "pct clone 901 104 --hostname g104 --target pve3 --description <notes> on pve1 (--target pve3: 901's disks are on shared storage ceph-rbd)",
    );
    expect(verdict(plan, 'lxc/104:node').stale).toBe(false);
  });

  it('plans from the declared template when it is not made yet', () => {
    const plan = planOf(guests, clusterState());
    expect(verdict(plan, 'lxc/103:exists').step).toContain('--full');
    expect(verdict(plan, 'lxc/104:exists').step).toContain('--target pve3');
  });

  it('of a VM template whose disks are all on shared storage uses --target too', () => {
    const s = clusterState();
    put(
      s,
      9000,
      'vm',
      'pve1',
      'name: tpl\nscsi0: nfs-shared:9000/base-9000-disk-0.qcow2,size=8G\nide2: nfs-shared:9000/vm-9000-cloudinit.qcow2,media=cdrom\ntemplate: 1',
    );
    const plan = planOf(
      [vmGuest(9000, { template: true, node: 'pve1' }), vmGuest(110, { cloneFrom: 9000, node: 'pve2' })],
      s,
    );
    expect(verdict(plan, 'vm/110:exists').step).toContain('qm clone 9000 110 --name vm110 --target pve2');
  });
});

describe('changing a guest’s node in the config', () => {
  it('plans a migration with its downtime class, and neither a destroy nor a re-creation', () => {
    const s = clusterState();
    put(
      s,
      105,
      'lxc',
      'pve1',
      'hostname: g105\nunprivileged: 1\nrootfs: local-lvm:vm-105-disk-0,size=8G',
      'running',
    );
    put(s, 110, 'vm', 'pve1', 'name: vm110\nscsi0: local-lvm:vm-110-disk-0,size=8G', 'running');
    const plan = planOf([lxcGuest(105, { node: 'pve2' }), vmGuest(110, { node: 'pve3' })], s);
    const ct = verdict(plan, 'lxc/105:node');
    expect(ct.stale).toBe(true);
    expect(ct.effect).toBe('restart');
    expect(ct.step).toBe('migrate 105 pve1 → pve2 (restart: pct migrate 105 pve2 --restart)');
    const vm = verdict(plan, 'vm/110:node');
    expect(vm.effect).toBe('update');
    expect(vm.step).toBe('migrate 110 pve1 → pve3 (online: qm migrate 110 pve3 --online --with-local-disks)');
    for (const v of [...plan.values()].filter((x) => x.stale)) {
      expect(v.effect, v.target).not.toBe('replace');
      expect(v.step, v.target).not.toMatch(/destroy/);
    }
    expect(verdict(plan, 'lxc/105:exists').stale).toBe(false);
    expect(verdict(plan, 'vm/110:exists').stale).toBe(false);
  });

  it('names Proxmox’s refusal in the plan when the guest cannot migrate', () => {
    const s = clusterState();
    put(
      s,
      105,
      'lxc',
      'pve1',
      'hostname: g105\nunprivileged: 1\nrootfs: local-lvm:vm-105-disk-0,size=8G\nmp0: /srv/a,mp=/a',
    );
    const plan = planOf([lxcGuest(105, { node: 'pve2' })], s);
    expect(verdict(plan, 'lxc/105:node').step).toMatch(
      /^cannot migrate 105 pve1 → pve2: cannot migrate local bind mount point 'mp0' \(\/srv\/a\)/,
    );
  });

  it('runs every other step of the guest after it is on its node', () => {
    const engine = prepareEngine(configOf([lxcGuest(105, { node: 'pve2' })]));
    if (!engine.ok) throw new Error(engine.error);
    const targets = [...engine.value.targets.values()].filter((t) => t.guest === 105);
    expect(engine.value.targets.get('lxc/105:node')!.deps).toEqual(['lxc/105:exists']);
    for (const t of targets) {
      if (t.name === 'exists' || t.name === 'node') continue;
      expect(t.deps, t.id).not.toContain('lxc/105:exists');
    }
    expect(engine.value.order.indexOf('lxc/105:node')).toBeLessThan(
      engine.value.order.indexOf('lxc/105:config'),
    );
  });
});
