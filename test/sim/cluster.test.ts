// A simulated Proxmox cluster: nodes sharing one /etc/pve, the node a command runs on
// (PHOENIX_SIM_NODE), guests on other nodes, nodes down, clones to another node and migrations.
// The commands run in-process through the simulator's own `main` (the code bin/sim runs).
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mapHostPath } from '../../src/sim/cluster.js';
import { main } from '../../src/sim/index.js';
import { ensureSimHost, initSimCluster, initSimHost, setSimNodeDown, simNodes } from '../../src/sim/init.js';
import { TEMPLATE } from './helpers.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

interface Res {
  out: string;
  err: string;
  code: number;
}

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'phoenix-cluster-'));
  roots.push(root);
  return root;
}

function cluster(nodes = ['pve1', 'pve2', 'pve3']) {
  const root = tempRoot();
  initSimCluster(root, nodes);
  const on = (node: string, cmd: string, ...args: string[]): Res => {
    let out = '';
    let err = '';
    const code = main(
      cmd,
      args,
      {
        out: (t) => {
          out += t;
        },
        err: (t) => {
          err += t;
        },
        stdin: () => Buffer.alloc(0),
      },
      { PHOENIX_SIM_ROOT: root, PHOENIX_SIM_SPEED: '0', PHOENIX_SIM_NODE: node, PHOENIX_SIM_FAULTS: '' },
    );
    return { out, err, code };
  };
  const ok = (node: string, cmd: string, ...args: string[]): string => {
    const r = on(node, cmd, ...args);
    if (r.code !== 0)
      throw new Error(`${cmd} ${args.join(' ')} on ${node}: exit ${r.code}\n${r.out}${r.err}`);
    return r.out;
  };
  const conf = (node: string, kind: 'lxc' | 'qemu', vmid: number): string | undefined => {
    const p = join(root, 'etc/pve/nodes', node, kind === 'lxc' ? 'lxc' : 'qemu-server', `${vmid}.conf`);
    return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  };
  const volumes = (node: string, sid: string): string[] => {
    const p = mapHostPath(root, node, `/sim/volumes/${sid}.json`);
    return existsSync(p) ? Object.keys(JSON.parse(readFileSync(p, 'utf8')).volumes) : [];
  };
  const resources = (node: string, type?: string): Array<Record<string, unknown>> =>
    JSON.parse(
      ok(
        node,
        'pvesh',
        'get',
        '/cluster/resources',
        ...(type ? ['--type', type] : []),
        '--output-format',
        'json',
      ),
    );
  return { root, on, ok, conf, volumes, resources };
}

type Cluster = ReturnType<typeof cluster>;

/** A ZFS storage `tank1` that only node pve1 has (`nodes pve1`). */
function tankOnlyOnPve1(c: Cluster): void {
  const cfg = join(c.root, 'etc/pve/storage.cfg');
  writeFileSync(
    cfg,
    `${readFileSync(cfg, 'utf8')}\nzfspool: tank1\n\tpool tank1\n\tcontent rootdir,images\n\tnodes pve1\n`,
  );
}

function ct(c: Cluster, node: string, vmid: number, storage = 'local-lvm', extra: string[] = []): void {
  c.ok(
    node,
    'pct',
    'create',
    String(vmid),
    TEMPLATE,
    '--rootfs',
    `${storage}:8`,
    '--hostname',
    `ct${vmid}`,
    ...extra,
  );
}

function vm(c: Cluster, node: string, vmid: number, storage = 'local-lvm'): void {
  c.ok(node, 'qm', 'create', String(vmid), '--name', `vm${vmid}`, '--scsi0', `${storage}:4`);
}

describe('a simulated cluster shares one /etc/pve', () => {
  it('initialises nodes with their own folders, .members as pmxcfs writes it and no shared links', () => {
    const c = cluster();
    for (const n of ['pve1', 'pve2', 'pve3']) {
      expect(existsSync(join(c.root, 'etc/pve/nodes', n, 'lxc'))).toBe(true);
      expect(existsSync(join(c.root, 'etc/pve/nodes', n, 'qemu-server'))).toBe(true);
      expect(readFileSync(join(c.root, 'fs', n, 'etc/hostname'), 'utf8')).toBe(`${n}\n`);
      expect(
        existsSync(
          join(c.root, 'fs', n, 'var/lib/vz/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst'),
        ),
      ).toBe(true);
    }
    const members = JSON.parse(readFileSync(join(c.root, 'etc/pve/.members'), 'utf8'));
    expect(members.cluster).toMatchObject({ nodes: 3, quorate: 1 });
    expect(Object.keys(members.nodelist)).toEqual(['pve1', 'pve2', 'pve3']);
    expect(members.nodelist.pve2).toMatchObject({ id: 2, online: 1 });
    expect(existsSync(join(c.root, 'etc/pve/local'))).toBe(false);
    expect(readFileSync(join(c.root, 'etc/pve/storage.cfg'), 'utf8')).toMatch(/^rbd: ceph-vm$/m);
    expect(simNodes(c.root)).toEqual(['pve1', 'pve2', 'pve3']);
  });

  it('resolves /etc/pve/local and /etc/pve/lxc per node, every other host path per node', () => {
    const root = '/r';
    expect(mapHostPath(root, 'pve2', '/etc/pve/local/lxc/100.conf')).toBe(
      '/r/etc/pve/nodes/pve2/lxc/100.conf',
    );
    expect(mapHostPath(root, 'pve3', '/etc/pve/qemu-server/200.conf')).toBe(
      '/r/etc/pve/nodes/pve3/qemu-server/200.conf',
    );
    expect(mapHostPath(root, 'pve3', '/etc/pve/storage.cfg')).toBe('/r/etc/pve/storage.cfg');
    expect(mapHostPath(root, 'pve2', '/var/lib/vz')).toBe('/r/fs/pve2/var/lib/vz');
    expect(mapHostPath(root, 'pve', '/var/lib/vz')).toBe('/r/var/lib/vz');
  });

  it('keeps a single-node folder as before: node pve, links in /etc/pve, files at the root', () => {
    const root = tempRoot();
    initSimHost(root);
    expect(lstatSync(join(root, 'etc/pve/local')).isSymbolicLink()).toBe(true);
    expect(
      existsSync(join(root, 'var/lib/vz/template/cache/ubuntu-24.04-standard_24.04-2_amd64.tar.zst')),
    ).toBe(true);
    expect(existsSync(join(root, 'fs'))).toBe(false);
    expect(JSON.parse(readFileSync(join(root, 'etc/pve/.members'), 'utf8'))).toEqual({
      nodename: 'pve',
      version: 1,
    });
    expect(readFileSync(join(root, 'etc/pve/storage.cfg'), 'utf8')).not.toContain('ceph-vm');
  });

  it('ensureSimHost creates the declared nodes and puts a local template on every node, a shared one once', () => {
    const root = tempRoot();
    const r = ensureSimHost(
      root,
      {
        nodes: ['a1', 'a2'],
        storages: [{ id: 'nas', type: 'dir', content: ['vztmpl'], path: '/mnt/nas', shared: true }],
        templates: ['local:vztmpl/debian-12.tar.zst', 'nas:vztmpl/alpine.tar.xz'],
      },
      false,
    );
    expect(simNodes(root)).toEqual(['a1', 'a2']);
    expect(r.added).toEqual([
      "storage 'nas' (dir)",
      "template local:vztmpl/debian-12.tar.zst on node 'a1'",
      "template local:vztmpl/debian-12.tar.zst on node 'a2'",
      'template nas:vztmpl/alpine.tar.xz',
    ]);
    expect(readFileSync(join(root, 'etc/pve/storage.cfg'), 'utf8')).toMatch(
      /dir: nas\n\tpath \/mnt\/nas\n\tcontent vztmpl\n\tshared 1/,
    );
    expect(
      ensureSimHost(root, { nodes: ['a1', 'a2', 'a3'], storages: [], templates: [] }, true).missing,
    ).toEqual(["node 'a3'"]);
  });
});

describe('the node a command runs on', () => {
  it("pct and qm on another node fail with load_config's message; pct list shows only the node's own", () => {
    const c = cluster();
    ct(c, 'pve1', 100);
    vm(c, 'pve2', 200);
    expect(c.conf('pve1', 'lxc', 100)).toContain('hostname: ct100');
    const r = c.on('pve2', 'pct', 'config', '100');
    expect(r).toMatchObject({
      code: 255,
      err: "Configuration file 'nodes/pve2/lxc/100.conf' does not exist\n",
    });
    expect(c.on('pve1', 'qm', 'start', '200').err).toBe(
      "Configuration file 'nodes/pve1/qemu-server/200.conf' does not exist\n",
    );
    expect(c.ok('pve1', 'pct', 'list')).toContain('ct100');
    expect(c.ok('pve3', 'pct', 'list')).not.toContain('ct100');
  });

  it('refuses a VMID used on any node of the cluster (create and clone)', () => {
    const c = cluster();
    ct(c, 'pve1', 100);
    const r = c.on('pve2', 'pct', 'create', '100', TEMPLATE, '--rootfs', 'local-lvm:8');
    expect(r).toMatchObject({ code: 255, err: "CT 100 already exists on node 'pve1'\n" });
    expect(c.on('pve3', 'qm', 'create', '100').err).toBe(
      "unable to create VM 100 - CT 100 already exists on node 'pve1'\n",
    );
    vm(c, 'pve2', 200);
    expect(c.on('pve2', 'qm', 'clone', '200', '100').code).toBe(255);
    expect(c.conf('pve2', 'qemu', 100)).toBeUndefined();
  });

  it('a storage restricted with `nodes` is not available on the other nodes', () => {
    const c = cluster();
    tankOnlyOnPve1(c);
    ct(c, 'pve1', 100, 'tank1');
    const r = c.on('pve2', 'pct', 'create', '101', TEMPLATE, '--rootfs', 'tank1:8');
    expect(r).toMatchObject({ code: 255, err: "storage 'tank1' is not available on node 'pve2'\n" });
    const st = c.resources('pve3', 'storage').filter((e) => e.storage === 'tank1');
    expect(st.map((e) => e.node)).toEqual(['pve1']);
  });

  it('logs the node of each call in a cluster', () => {
    const c = cluster();
    c.ok('pve2', 'pct', 'list');
    const last = readFileSync(join(c.root, 'calls.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .at(-1);
    expect(last).toMatchObject({ cmd: 'pct', args: ['list'], exit: 0, node: 'pve2' });
  });

  it('snapshots, rollback, unlock and destroy act on the guest of the node they run on', () => {
    const c = cluster();
    ct(c, 'pve2', 100, 'local-zfs');
    vm(c, 'pve2', 200, 'local-zfs');
    for (const [cmd, id] of [
      ['pct', '100'],
      ['qm', '200'],
    ] as const) {
      expect(c.on('pve1', cmd, 'snapshot', id, 'before').code).toBe(255);
      c.ok('pve2', cmd, 'snapshot', id, 'before');
      expect(c.ok('pve2', cmd, 'listsnapshot', id)).toContain('before');
      c.ok('pve2', cmd, 'rollback', id, 'before', '--start');
      expect(c.ok('pve2', cmd, 'status', id)).toBe('status: running\n');
      c.ok('pve2', cmd, 'stop', id);
      c.ok('pve2', cmd, 'delsnapshot', id, 'before');
    }
    expect(c.on('pve2', 'pct', 'unlock', '100').err).toBe('no lock found trying to remove any lock\n');
    c.ok('pve2', 'qm', 'unlock', '200');
    c.ok('pve2', 'pct', 'destroy', '100', '--purge');
    c.ok('pve2', 'qm', 'destroy', '200');
    expect(c.conf('pve2', 'lxc', 100)).toBeUndefined();
    expect(c.volumes('pve2', 'local-zfs')).toEqual([]);
  });

  it('a node that is not in the cluster fails loudly', () => {
    const c = cluster();
    expect(c.on('pve9', 'pct', 'list')).toMatchObject({ code: 70 });
  });
});

describe('pvesh serves the whole cluster from any node', () => {
  it('/cluster/resources lists every guest with its node, every node and every storage per node', () => {
    const c = cluster();
    ct(c, 'pve1', 100);
    vm(c, 'pve3', 300);
    const res = c.resources('pve2');
    const guests = res.filter((e) => e.type === 'lxc' || e.type === 'qemu');
    expect(guests.map((g) => [g.vmid, g.node, g.status])).toEqual([
      [100, 'pve1', 'stopped'],
      [300, 'pve3', 'stopped'],
    ]);
    expect(res.filter((e) => e.type === 'node').map((e) => [e.node, e.status])).toEqual([
      ['pve1', 'online'],
      ['pve2', 'online'],
      ['pve3', 'online'],
    ]);
    const lvm = res.filter((e) => e.type === 'storage' && e.storage === 'local-lvm');
    expect(lvm.map((e) => [e.id, e.shared])).toEqual([
      ['storage/pve1/local-lvm', 0],
      ['storage/pve2/local-lvm', 0],
      ['storage/pve3/local-lvm', 0],
    ]);
    expect(res.find((e) => e.id === 'storage/pve1/ceph-vm')).toMatchObject({
      shared: 1,
      status: 'available',
    });
  });

  it('/nodes lists every node; /nodes/<other>/... is answered by that node', () => {
    const c = cluster();
    ct(c, 'pve2', 100);
    const nodes = JSON.parse(c.ok('pve1', 'pvesh', 'get', '/nodes', '--output-format', 'json'));
    expect(nodes.map((n: { node: string }) => n.node)).toEqual(['pve1', 'pve2', 'pve3']);
    const lxc = JSON.parse(c.ok('pve1', 'pvesh', 'get', '/nodes/pve2/lxc', '--output-format', 'json'));
    expect(lxc.map((g: { vmid: number }) => g.vmid)).toEqual([100]);
    const cfg = JSON.parse(
      c.ok('pve3', 'pvesh', 'get', '/nodes/pve2/lxc/100/config', '--output-format', 'json'),
    );
    expect(cfg.hostname).toBe('ct100');
    expect(JSON.parse(c.ok('pve1', 'pvesh', 'get', '/nodes/pve1/lxc', '--output-format', 'json'))).toEqual(
      [],
    );
    expect(c.on('pve1', 'pvesh', 'get', '/nodes/pve7/lxc', '--output-format', 'json').err).toContain(
      "hostname lookup 'pve7' failed",
    );
  });
});

describe('a node down', () => {
  it('its commands fail like ssh (exit 255); the others see it offline and cannot reach it', () => {
    const c = cluster();
    ct(c, 'pve2', 100);
    setSimNodeDown(c.root, 'pve2', true);
    expect(c.on('pve2', 'pct', 'list')).toEqual({
      code: 255,
      out: '',
      err: 'ssh: connect to host pve2 port 22: No route to host\n',
    });
    const res = c.resources('pve1');
    expect(res.find((e) => e.id === 'node/pve2')).toMatchObject({ status: 'offline' });
    expect(res.find((e) => e.id === 'node/pve1')).toMatchObject({ status: 'online' });
    // At speed 0 the down node's RRD data has expired at once: the guest is listed, status unknown.
    expect(res.find((e) => e.id === 'lxc/100')).toEqual({
      id: 'lxc/100',
      vmid: 100,
      node: 'pve2',
      type: 'lxc',
      status: 'unknown',
    });
    expect(res.find((e) => e.id === 'storage/pve2/local-lvm')).toMatchObject({ status: 'unknown' });
    const r = c.on('pve1', 'pvesh', 'get', '/nodes/pve2/lxc', '--output-format', 'json');
    expect(r).toMatchObject({
      code: 255,
      err: 'proxy handler failed: ssh: connect to host 10.10.10.2 port 22: No route to host\n',
    });
    expect(JSON.parse(readFileSync(join(c.root, 'etc/pve/.members'), 'utf8')).nodelist.pve2.online).toBe(0);
    setSimNodeDown(c.root, 'pve2', false);
    expect(c.ok('pve2', 'pct', 'list')).toContain('ct100');
    expect(c.resources('pve1').find((e) => e.id === 'node/pve2')).toMatchObject({ status: 'online' });
  });

  it('without a majority of nodes online the cluster has no quorum: migrations refuse', () => {
    const c = cluster();
    ct(c, 'pve1', 100);
    setSimNodeDown(c.root, 'pve2', true);
    setSimNodeDown(c.root, 'pve3', true);
    expect(c.on('pve1', 'pct', 'migrate', '100', 'pve2').err).toBe('cluster not ready - no quorum?\n');
  });
});

describe('clones to another node', () => {
  it('pct clone --target refuses a CT on local storage and a non-shared --storage, leaves no trace', () => {
    const c = cluster();
    ct(c, 'pve1', 900);
    c.ok('pve1', 'pct', 'template', '900');
    const r = c.on('pve1', 'pct', 'clone', '900', '101', '--target', 'pve2');
    expect(r.code).toBe(255);
    expect(r.err).toBe(
      "found non-shared volume: local-lvm:base-900-disk-0\ncan't clone CT to node 'pve2' (CT uses local storage)\n",
    );
    expect(c.conf('pve1', 'lxc', 101)).toBeUndefined();
    expect(c.conf('pve1', 'lxc', 900)).not.toContain('lock:');
    const s = c.on(
      'pve1',
      'pct',
      'clone',
      '900',
      '101',
      '--target',
      'pve2',
      '--full',
      '--storage',
      'local-lvm',
    );
    expect(s.err).toBe("can't clone to non-shared storage 'local-lvm'\n");
    expect(c.on('pve1', 'pct', 'clone', '900', '101', '--target', 'pve9').err).toBe(
      "no such cluster node 'pve9'\n",
    );
  });

  it('pct clone --target from a template on shared storage: a linked clone whose config is on the target', () => {
    const c = cluster();
    ct(c, 'pve1', 900, 'ceph-vm');
    c.ok('pve1', 'pct', 'template', '900');
    c.ok('pve1', 'pct', 'clone', '900', '101', '--target', 'pve2', '--hostname', 'web');
    expect(c.conf('pve1', 'lxc', 101)).toBeUndefined();
    expect(c.conf('pve2', 'lxc', 101)).toMatch(/^rootfs: ceph-vm:base-900-disk-0\/vm-101-disk-0,/m);
    expect(c.conf('pve2', 'lxc', 101)).not.toContain('lock:');
    c.ok('pve2', 'pct', 'start', '101');
    expect(c.resources('pve3', 'vm').find((e) => e.vmid === 101)).toMatchObject({
      node: 'pve2',
      status: 'running',
    });
  });

  it('qm clone --target refuses a VM on local storage and clones one on shared storage to the target', () => {
    const c = cluster();
    vm(c, 'pve1', 9000);
    c.ok('pve1', 'qm', 'template', '9000');
    expect(c.on('pve1', 'qm', 'clone', '9000', '201', '--target', 'pve3').err).toBe(
      "can't clone VM to node 'pve3' (VM uses local storage)\n",
    );
    expect(c.conf('pve1', 'qemu', 201)).toBeUndefined();
    vm(c, 'pve1', 9001, 'ceph-vm');
    c.ok('pve1', 'qm', 'template', '9001');
    c.ok('pve1', 'qm', 'clone', '9001', '202', '--target', 'pve3', '--name', 'db');
    expect(c.conf('pve3', 'qemu', 202)).toMatch(/^scsi0: ceph-vm:base-9001-disk-0\/vm-202-disk-0/m);
    expect(c.conf('pve1', 'qemu', 202)).toBeUndefined();
  });
});

describe('migrations', () => {
  it('pct migrate moves a stopped CT: config to the target folder, local volume to the target node', () => {
    const c = cluster();
    ct(c, 'pve1', 100);
    const out = c.ok('pve1', 'pct', 'migrate', '100', 'pve2');
    expect(out).toContain("starting migration of CT 100 to node 'pve2' (10.10.10.2)");
    expect(out).toContain("found local volume 'local-lvm:vm-100-disk-0' (in current VM config)");
    expect(out).toContain("volume 'local-lvm:vm-100-disk-0' is 'local-lvm:vm-100-disk-0' on the target");
    expect(out).toMatch(/migration finished successfully \(duration \d\d:\d\d:\d\d\)\n$/);
    expect(c.conf('pve1', 'lxc', 100)).toBeUndefined();
    expect(c.conf('pve2', 'lxc', 100)).not.toContain('lock:');
    expect(c.volumes('pve1', 'local-lvm')).toEqual([]);
    expect(c.volumes('pve2', 'local-lvm')).toEqual(['vm-100-disk-0']);
    expect(c.ok('pve2', 'pct', 'status', '100')).toBe('status: stopped\n');
    const tasks = readFileSync(mapHostPath(c.root, 'pve1', '/var/log/pve/tasks/index'), 'utf8');
    expect(tasks).toMatch(
      /UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzmigrate:100:root@pam: [0-9A-F]{8} OK/,
    );
  });

  it('pct migrate of a running CT needs --restart; with it the CT stops, moves and starts on the target', () => {
    const c = cluster();
    ct(c, 'pve1', 100);
    c.ok('pve1', 'pct', 'start', '100');
    expect(c.on('pve1', 'pct', 'migrate', '100', 'pve3').err).toBe(
      "can't migrate running container without --online or --restart\n",
    );
    const on = c.on('pve1', 'pct', 'migrate', '100', 'pve3', '--online');
    expect(on.err).toContain('migration aborted');
    expect(on.out).toContain(
      'ERROR: migration aborted (duration 00:00:00): lxc live migration is currently not implemented',
    );
    const out = c.ok('pve1', 'pct', 'migrate', '100', 'pve3', '--restart');
    expect(out).toContain('shutdown CT 100');
    expect(out).toContain('start container on target node');
    expect(c.ok('pve3', 'pct', 'status', '100')).toBe('status: running\n');
  });

  it('pct migrate refuses a linked clone on local storage and leaves the CT unlocked on its node', () => {
    const c = cluster();
    ct(c, 'pve1', 900, 'local-zfs');
    c.ok('pve1', 'pct', 'template', '900');
    c.ok('pve1', 'pct', 'clone', '900', '101');
    const r = c.on('pve1', 'pct', 'migrate', '101', 'pve2');
    expect(r.code).toBe(255);
    expect(r.err).toBe('migration aborted\n');
    expect(r.out).toContain(
      "can't migrate local volume 'local-zfs:basevol-900-disk-0/subvol-101-disk-0': clone of 'basevol-900-disk-0'",
    );
    expect(r.out).toContain("ERROR: can't migrate CT - check log");
    expect(c.conf('pve1', 'lxc', 101)).not.toContain('lock:');
    expect(c.conf('pve2', 'lxc', 101)).toBeUndefined();
  });

  it('pct migrate moves a linked clone on LVM-thin: the volume name carries no base, the copy stands alone', () => {
    const c = cluster();
    ct(c, 'pve1', 900, 'local-lvm');
    c.ok('pve1', 'pct', 'template', '900');
    c.ok('pve1', 'pct', 'clone', '900', '101');
    const out = c.ok('pve1', 'pct', 'migrate', '101', 'pve2');
    expect(out).toContain("found local volume 'local-lvm:vm-101-disk-0'");
    expect(c.conf('pve1', 'lxc', 101)).toBeUndefined();
    expect(c.conf('pve2', 'lxc', 101)).toContain('rootfs: local-lvm:vm-101-disk-0');
    // The template's base volume stays on pve1; the migrated copy needs nothing of it.
    c.ok('pve1', 'pct', 'destroy', '900');
    c.ok('pve2', 'pct', 'start', '101');
  });

  it('pct migrate refuses a target that is this node, unknown or down', () => {
    const c = cluster();
    ct(c, 'pve1', 100);
    expect(c.on('pve1', 'pct', 'migrate', '100', 'pve1').err).toMatch(
      /^400 Parameter verification failed\.\ntarget: target is local node\.\n/,
    );
    expect(c.on('pve1', 'pct', 'migrate', '100', 'pve8').err).toBe("no such cluster node 'pve8'\n");
    setSimNodeDown(c.root, 'pve2', true);
    const r = c.on('pve1', 'pct', 'migrate', '100', 'pve2');
    expect(r.out).toContain(
      "migration aborted (duration 00:00:00): Can't connect to destination address using public key",
    );
    expect(c.conf('pve1', 'lxc', 100)).not.toContain('lock:');
  });

  it('qm migrate: offline moves local disks; a running VM needs --online, and --with-local-disks for local disks', () => {
    const c = cluster();
    vm(c, 'pve1', 200);
    const out = c.ok('pve1', 'qm', 'migrate', '200', 'pve2');
    expect(out).toContain("found local disk 'local-lvm:vm-200-disk-0' (attached)");
    expect(out).toContain('copying local disk images');
    expect(c.conf('pve2', 'qemu', 200)).toMatch(/^scsi0: local-lvm:vm-200-disk-0/m);
    expect(c.volumes('pve2', 'local-lvm')).toEqual(['vm-200-disk-0']);
    c.ok('pve2', 'qm', 'start', '200');
    expect(c.on('pve2', 'qm', 'migrate', '200', 'pve3').err).toBe(
      "can't migrate running VM without --online\n",
    );
    const r = c.on('pve2', 'qm', 'migrate', '200', 'pve3', '--online');
    expect(r.out).toContain(
      "can't migrate local disk 'local-lvm:vm-200-disk-0': can't live migrate attached local disks without with-local-disks option",
    );
    expect(c.conf('pve2', 'qemu', 200)).not.toContain('lock:');
    c.ok('pve2', 'qm', 'migrate', '200', 'pve3', '--online', '--with-local-disks');
    expect(c.conf('pve3', 'qemu', 200)).toBeDefined();
    expect(c.ok('pve3', 'qm', 'status', '200')).toBe('status: running\n');
  });

  it('qm migrate refuses a storage the target does not have, before any task', () => {
    const c = cluster();
    tankOnlyOnPve1(c);
    vm(c, 'pve1', 200, 'tank1');
    const r = c.on('pve1', 'qm', 'migrate', '200', 'pve2');
    expect(r).toMatchObject({ code: 255, out: '', err: "storage 'tank1' is not available on node 'pve2'\n" });
  });
});
