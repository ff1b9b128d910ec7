// A cluster config as the loader validates it: declared nodes, each guest's node, storages limited
// to some nodes, every problem at its place with its fix; a config without `nodes` is unchanged.
import { describe, expect, it } from 'vitest';
import { lxc } from '../../src/dsl/define.js';
import type { Diagnostic } from '../../src/dsl/diagnostics.js';
import { validateConfig } from '../../src/dsl/validate.js';

const FILE = '/srv/phoenix/phoenix.config.ts';
const nodes = { pve1: 'ssh://root@pve1', pve2: 'ssh://root@pve2:2222', pve3: 'local' };
const storages = {
  local: { type: 'dir', content: ['vztmpl', 'rootdir'], path: '/var/lib/vz' },
  'local-zfs': {
    type: 'zfspool',
    content: ['rootdir', 'images'],
    pool: 'rpool/data',
    nodes: ['pve1', 'pve2'],
  },
  nfs: { type: 'nfs', content: ['rootdir', 'images'], path: '/mnt/pve/nfs', shared: true },
};
const ct = (extra: Record<string, unknown>) =>
  lxc({
    name: 'web',
    ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
    rootfs: { storage: 'local', sizeGb: 8 },
    ...extra,
  });

function problems(raw: unknown): Diagnostic[] {
  const r = validateConfig(raw, FILE);
  return r.ok ? [] : r.error;
}

describe('cluster config validation', () => {
  it('resolves each guest to its node, the first declared node by default', () => {
    const r = validateConfig(
      { nodes, storages, guests: { 103: ct({ node: 'pve2' }), 104: ct({ name: 'db' }) } },
      FILE,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.nodes).toEqual(nodes);
    expect(r.value.node).toBe('pve1');
    expect(r.value.guests.get(103)!.node).toBe('pve2');
    expect(r.value.guests.get(104)!.node).toBe('pve1');
    expect(r.value.storages['local-zfs']!.nodes).toEqual(['pve1', 'pve2']);
    expect(r.value.storages.nfs!.shared).toBe(true);
  });

  it('names an undeclared node at the guest, listing the declared ones', () => {
    expect(problems({ nodes, storages, guests: { 103: ct({ node: 'pve9' }) } })).toEqual([
      expect.objectContaining({
        path: 'guests.103.node',
        message: "node 'pve9' is not declared (declared: pve1, pve2, pve3)",
        fix: "did you mean 'pve1'?",
      }),
    ]);
  });

  it('refuses a guest on a storage its node does not have, with the fix', () => {
    const found = problems({
      nodes,
      storages,
      guests: { 103: ct({ node: 'pve3', rootfs: { storage: 'local-zfs', sizeGb: 8 } }) },
    });
    expect(found).toEqual([
      expect.objectContaining({
        path: 'guests.103.rootfs.storage',
        message: "storage 'local-zfs' is not available on node 'pve3' (its nodes: pve1, pve2)",
        fix: 'use a storage available on pve3 (or a shared one), or move the guest to pve1 or pve2',
      }),
    ]);
  });

  it('accepts guests on a shared storage and on a storage of their own node', () => {
    expect(
      problems({
        nodes,
        storages,
        guests: {
          103: ct({ node: 'pve3', rootfs: { storage: 'nfs', sizeGb: 8 } }),
          104: ct({ name: 'db', node: 'pve2', rootfs: { storage: 'local-zfs', sizeGb: 8 } }),
        },
      }),
    ).toEqual([]);
  });

  it('names an undeclared node in a storage nodes list', () => {
    const bad = { ...storages, 'local-zfs': { ...storages['local-zfs'], nodes: ['pve1', 'pve7'] } };
    expect(problems({ nodes, storages: bad, guests: { 103: ct({}) } })).toEqual([
      expect.objectContaining({
        path: 'storages.local-zfs.nodes.1',
        message: expect.stringContaining("'pve7'"),
      }),
    ]);
  });

  it('refuses a node URL that is neither local nor ssh, and nodes together with node', () => {
    const found = problems({
      node: 'pve',
      nodes: { pve1: 'http://pve1' },
      storages,
      guests: { 103: ct({}) },
    });
    expect(found.map((d) => d.path).sort()).toEqual(['node', 'nodes.pve1']);
  });

  it('keeps a config without nodes on its single node, any guest node name accepted', () => {
    const r = validateConfig(
      { storages, guests: { 103: ct({ node: 'other' }), 104: ct({ name: 'db' }) } },
      FILE,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.nodes).toBeUndefined();
    expect(r.value.node).toBe('pve');
    expect(r.value.guests.get(103)!.node).toBe('other');
  });
});
