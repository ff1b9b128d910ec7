// Where a cross-node clone is made and how a guest moves between nodes: the pure decisions,
// against a 3-node cluster's state (cluster-state.ts). Each expectation follows a Proxmox source
// line cited in src/targets/placement.ts.
import { describe, expect, it } from 'vitest';
import {
  cloneSourceVolumes,
  decideClone,
  placementArgs,
  planMigration,
  storageFacts,
  volumesOf,
} from '../../src/targets/placement.js';
import { configOf, lxcGuest, vmGuest } from '../fixtures/model.js';
import { clusterState, put } from './cluster-state.js';

const CT_TEMPLATE = (rootfs: string) =>
  `arch: amd64\nhostname: golden\nmemory: 512\nostype: ubuntu\nrootfs: ${rootfs}\ntemplate: 1`;

function ctClone(rootfs: string, node = 'pve2') {
  const state = clusterState();
  put(state, 900, 'lxc', 'pve1', CT_TEMPLATE(rootfs));
  const gs = state.guests.get(900)!;
  return decideClone({
    kind: 'lxc',
    source: 900,
    sourceNode: 'pve1',
    node,
    sourceTemplate: true,
    volumes: volumesOf('lxc', gs.conf.main.props),
    facts: storageFacts(state),
  });
}

describe('a clone whose source is on another node', () => {
  it('is a plain clone when the source is on the same node', () => {
    expect(ctClone('local-lvm:base-900-disk-0,size=8G', 'pve1')).toEqual({ how: 'here', runOn: 'pve1' });
  });

  it('uses --target when the template is on shared storage (a linked clone stays on it)', () => {
    const p = ctClone('ceph-rbd:base-900-disk-0,size=8G');
    expect(p.how).toBe('target');
    expect(placementArgs(p)).toEqual(['--target', 'pve2']);
    expect(p.how === 'target' && p.why).toContain('shared storage ceph-rbd');
  });

  it('counts a dir storage marked shared as shared', () => {
    expect(ctClone('cephfs-dir:900/base-900-disk-0.raw,size=8G').how).toBe('target');
  });

  it('clones on the source node and migrates a linked clone when the template is on local LVM-thin', () => {
    const p = ctClone('local-lvm:base-900-disk-0,size=8G');
    expect(p).toMatchObject({ how: 'migrate', runOn: 'pve1', to: 'pve2', full: false });
    expect(placementArgs(p)).toEqual([]);
    expect(p.how === 'migrate' && p.why).toContain('rootfs is on local storage local-lvm');
  });

  it('makes a full clone when a linked clone on local dir or ZFS storage could not migrate', () => {
    for (const rootfs of ['local:900/base-900-disk-0.raw,size=8G', 'local-zfs:basevol-900-disk-0,size=8G']) {
      const p = ctClone(rootfs);
      expect(p).toMatchObject({ how: 'migrate', full: true });
      expect(placementArgs(p)).toEqual(['--full']);
      expect(p.how === 'migrate' && p.why).toContain('could not migrate');
    }
  });

  it('is refused, naming the storage and the per-node template fix, when the target node lacks the storage', () => {
    const p = ctClone('pve1-lvm:base-900-disk-0,size=8G', 'pve3');
    expect(p.how).toBe('refused');
    expect(p.how === 'refused' && p.why).toBe(
      'storage pve1-lvm of 900 is not available on pve3; declare a template on pve3 to clone there',
    );
  });

  it('treats a VM cloud-init drive on local storage as local, as qemu-server does', () => {
    const state = clusterState();
    put(
      state,
      9000,
      'vm',
      'pve1',
      'name: tpl\nscsi0: nfs-shared:9000/base-9000-disk-0.qcow2,size=8G\nide2: local-lvm:vm-9000-cloudinit,media=cdrom\ntemplate: 1',
    );
    const config = configOf([
      vmGuest(9000, { template: true }),
      vmGuest(105, { cloneFrom: 9000, node: 'pve2' }),
    ]);
    const volumes = cloneSourceVolumes(config, state, config.guests.get(105)!);
    const facts = storageFacts(state);
    const q = {
      kind: 'vm' as const,
      source: 9000,
      sourceNode: 'pve1',
      node: 'pve2',
      sourceTemplate: true,
      facts,
    };
    const p = decideClone({ ...q, volumes });
    // The disk is shared, so the linked clone itself could migrate: no --full.
    expect(p).toMatchObject({ how: 'migrate', full: false });
    expect(p.how === 'migrate' && p.why).toContain('ide2 is on local storage local-lvm');
    const shared = volumes.map((v) => (v.key === 'ide2' ? { ...v, storage: 'nfs-shared' } : v));
    expect(decideClone({ ...q, volumes: shared }).how).toBe('target');
  });

  it('is refused when a VM template keeps an ISO on local storage (no --target, no migration)', () => {
    const state = clusterState();
    put(
      state,
      9001,
      'vm',
      'pve1',
      'name: tpl\nscsi0: local-lvm:base-9001-disk-0,size=8G\nide0: local:iso/debian.iso,media=cdrom\ntemplate: 1',
    );
    const p = decideClone({
      kind: 'vm',
      source: 9001,
      sourceNode: 'pve1',
      node: 'pve2',
      sourceTemplate: true,
      volumes: volumesOf('vm', state.guests.get(9001)!.conf.main.props),
      facts: storageFacts(state),
    });
    expect(p.how).toBe('refused');
    expect(p.how === 'refused' && p.why).toContain('ide0 holds local:iso/debian.iso on local storage');
  });

  it('predicts the volumes of a source not made yet from its declaration, and a snapshot clone from the snapshot', () => {
    const state = clusterState();
    const config = configOf([
      lxcGuest(900, { template: true, rootfs: { storage: 'nfs-shared', sizeGb: 8 } }),
      lxcGuest(104, { cloneFrom: 900, node: 'pve2' }),
      lxcGuest(800, { rootfs: { storage: 'local-lvm', sizeGb: 8 } }),
      lxcGuest(106, { cloneFrom: 800, cloneSnapshot: 'ready', node: 'pve2' }),
    ]);
    expect(cloneSourceVolumes(config, state, config.guests.get(104)!)).toEqual([
      { key: 'rootfs', storage: 'nfs-shared', volume: 'nfs-shared:8' },
    ]);
    put(
      state,
      800,
      'lxc',
      'pve1',
      'hostname: a\nrootfs: local-lvm:vm-800-disk-1,size=8G\n\n[ready]\nhostname: a\nrootfs: local-lvm:vm-800-disk-0,size=8G',
    );
    expect(cloneSourceVolumes(config, state, config.guests.get(106)!).map((v) => v.volume)).toEqual([
      'local-lvm:vm-800-disk-0',
    ]);
  });
});

describe('moving a guest to another node', () => {
  const facts = () => storageFacts(clusterState());

  it('migrates a stopped CT offline and a running one with --restart', () => {
    const state = clusterState();
    const ct = put(state, 103, 'lxc', 'pve1', 'hostname: web\nrootfs: local-lvm:vm-103-disk-0,size=8G');
    expect(planMigration(ct, 'pve2', facts())).toEqual({
      ok: true,
      from: 'pve1',
      to: 'pve2',
      downtime: 'offline',
      cmd: 'pct',
      args: ['migrate', '103', 'pve2'],
    });
    ct.status = 'running';
    expect(planMigration(ct, 'pve2', facts())).toMatchObject({
      downtime: 'restart',
      args: ['migrate', '103', 'pve2', '--restart'],
    });
  });

  it('migrates a running VM online, with --with-local-disks only when it has local disks', () => {
    const state = clusterState();
    const local = put(state, 110, 'vm', 'pve1', 'name: a\nscsi0: local-lvm:vm-110-disk-0,size=8G', 'running');
    expect(planMigration(local, 'pve3', facts())).toMatchObject({
      downtime: 'online',
      args: ['migrate', '110', 'pve3', '--online', '--with-local-disks'],
    });
    const shared = put(
      state,
      111,
      'vm',
      'pve1',
      'name: b\nscsi0: nfs-shared:111/vm-111-disk-0.qcow2,size=8G',
      'running',
    );
    expect(planMigration(shared, 'pve3', facts())).toMatchObject({
      args: ['migrate', '111', 'pve3', '--online'],
    });
    local.status = 'stopped';
    expect(planMigration(local, 'pve3', facts())).toMatchObject({
      downtime: 'offline',
      args: ['migrate', '110', 'pve3'],
    });
  });

  it('gives a guest of unknown power state the running flags, which Proxmox ignores on a stopped guest', () => {
    const state = clusterState();
    const ct = put(
      state,
      103,
      'lxc',
      'pve1',
      'hostname: web\nrootfs: local-lvm:vm-103-disk-0,size=8G',
      'unknown',
    );
    expect(planMigration(ct, 'pve2', facts())).toMatchObject({
      args: ['migrate', '103', 'pve2', '--restart'],
    });
  });

  it('refuses what Proxmox refuses: a local bind mount, a snapshot on LVM-thin, a local linked clone, a missing storage', () => {
    const state = clusterState();
    const bind = put(
      state,
      120,
      'lxc',
      'pve1',
      'hostname: a\nrootfs: local-lvm:vm-120-disk-0,size=8G\nmp0: /srv/data,mp=/data',
    );
    expect(planMigration(bind, 'pve2', facts())).toMatchObject({ ok: false });
    const m = planMigration(bind, 'pve2', facts());
    expect(!m.ok && m.why).toContain("cannot migrate local bind mount point 'mp0'");
    const sharedBind = put(
      state,
      121,
      'lxc',
      'pve1',
      'hostname: a\nrootfs: local-lvm:vm-121-disk-0,size=8G\nmp0: /srv/data,mp=/data,shared=1',
    );
    expect(planMigration(sharedBind, 'pve2', facts()).ok).toBe(true);

    const snap = put(
      state,
      122,
      'lxc',
      'pve1',
      'hostname: a\nrootfs: local-lvm:vm-122-disk-0,size=8G\nparent: base\n\n[base]\nhostname: a\nrootfs: local-lvm:vm-122-disk-0,size=8G',
    );
    const s = planMigration(snap, 'pve2', facts());
    expect(!s.ok && s.why).toContain("non-migratable snapshot 'base' on local storage local-lvm (lvmthin)");
    const zfsSnap = put(
      state,
      123,
      'lxc',
      'pve1',
      'hostname: a\nrootfs: local-zfs:subvol-123-disk-0,size=8G\nparent: base\n\n[base]\nhostname: a\nrootfs: local-zfs:subvol-123-disk-0,size=8G',
    );
    expect(planMigration(zfsSnap, 'pve2', facts()).ok).toBe(true);

    const linked = put(
      state,
      124,
      'lxc',
      'pve1',
      'hostname: a\nrootfs: local:900/base-900-disk-0.raw/124/vm-124-disk-0.raw,size=8G',
    );
    const l = planMigration(linked, 'pve2', facts());
    expect(!l.ok && l.why).toContain('is a linked clone on local storage local');
    const thinLinked = put(state, 125, 'lxc', 'pve1', 'hostname: a\nrootfs: local-lvm:vm-125-disk-0,size=8G');
    expect(planMigration(thinLinked, 'pve2', facts()).ok).toBe(true);

    const pinned = put(state, 126, 'vm', 'pve1', 'name: a\nscsi0: pve1-lvm:vm-126-disk-0,size=8G');
    const p = planMigration(pinned, 'pve2', facts());
    expect(!p.ok && p.why).toContain("storage 'pve1-lvm' (scsi0) is not available on node 'pve2'");
  });
});
