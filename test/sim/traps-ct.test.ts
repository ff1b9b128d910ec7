// One test per Proxmox trap (LXC-centred), against the bin/sim executables; the simulator code each one reaches cites the upstream source (src/sim/README.md).
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSimHost } from '../../src/sim/init.js';
import { cleanupSims, ctTemplate, makeSim, TEMPLATE } from './helpers.js';

afterAll(cleanupSims);

describe('Proxmox traps (containers)', () => {
  it('trap 1: unprivileged is immutable after create', () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103', '--hostname', 'ca']);
    for (const v of ['1', '0']) {
      const r = sim.run('pct', ['set', '103', '--unprivileged', v]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toBe("unable to modify read-only option: 'unprivileged'\n");
    }
    const d = sim.run('pct', ['set', '103', '--delete', 'unprivileged']);
    expect(d.code).not.toBe(0);
    expect(d.stderr).toContain("unable to delete read-only option: 'unprivileged'");
    expect(sim.conf('lxc', 103)).toContain('unprivileged: 1\n');
  });

  it('trap 2: create defaults to unprivileged=1; clone inherits unprivileged, features, raw lxc keys and hostname', () => {
    const sim = makeSim();
    expect(
      sim.run('pct', [
        'create',
        '900',
        TEMPLATE,
        '--rootfs',
        'local-lvm:8',
        '--hostname',
        'base',
        '--features',
        'nesting=1',
      ]).code,
    ).toBe(0);
    expect(sim.conf('lxc', 900)).toContain('unprivileged: 1\n');
    sim.writeConf(
      'lxc',
      900,
      `${sim.conf('lxc', 900)}lxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 65536\n`,
    );
    expect(sim.run('pct', ['template', '900']).code).toBe(0);
    expect(sim.run('pct', ['clone', '900', '103']).code).toBe(0);
    const conf = sim.conf('lxc', 103);
    expect(conf).toContain('hostname: base\n');
    expect(conf).toContain('features: nesting=1\n');
    expect(conf).toContain('unprivileged: 1\n');
    expect(conf.endsWith('lxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 65536\n')).toBe(true);
  });

  it('trap 3: omitting --rootfs means local:4, which fails on a default install', () => {
    const sim = makeSim();
    const r = sim.run('pct', ['create', '100', TEMPLATE]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(
      "400 Parameter verification failed.\nstorage: storage 'local' does not support container directories\npct create <vmid> <ostemplate> [OPTIONS]\n",
    );
    expect(sim.run('pct', ['status', '100']).code).not.toBe(0);
  });

  it('trap 4: templates cannot be started, snapshotted or rolled back; templating needs a stopped CT without snapshots', () => {
    const sim = makeSim();
    ctTemplate(sim);
    const start = sim.run('pct', ['start', '900']);
    expect(start.code).toBe(255);
    expect(start.stderr).toContain("you can't start a CT if it's a template");
    const snap = sim.run('pct', ['snapshot', '900', 'before']);
    expect(snap.code).toBe(255);
    expect(snap.stderr).toContain("you can't take a snapshot if it's a template");
    expect(sim.run('pct', ['template', '900']).stderr).toContain(
      "you can't convert a template to a template",
    );

    sim.run('pct', ['clone', '900', '103']);
    sim.run('pct', ['snapshot', '103', 'before']);
    const withSnap = sim.run('pct', ['template', '103']);
    expect(withSnap.code).not.toBe(0);
    expect(withSnap.stderr).toContain('unable to create template, because CT contains snapshots');
    sim.run('pct', ['delsnapshot', '103', 'before']);
    sim.run('pct', ['start', '103']);
    const running = sim.run('pct', ['template', '103']);
    expect(running.code).not.toBe(0);
    expect(running.stderr).toContain("you can't convert a CT to template if the CT is running");

    sim.run('pct', ['stop', '103']);
    sim.run('pct', ['snapshot', '103', 'snap1']);
    sim.run('pct', ['delsnapshot', '103', 'snap1']);
    // A rollback on a template is refused too.
    sim.writeConf('lxc', 900, `${sim.conf('lxc', 900)}\n[old]\narch: amd64\nsnaptime: 1700000000\n`);
    const rb = sim.run('pct', ['rollback', '900', 'old']);
    expect(rb.code).toBe(255);
    expect(rb.stderr).toContain("you can't rollback if vm is a template");
  });

  it('trap 6: templates clone linked, others full; --storage refused for linked; dir storage has no linked CT clones', () => {
    const sim = makeSim();
    ensureSimHost(
      sim.root,
      {
        storages: [{ id: 'ctdir', type: 'dir', content: ['rootdir', 'images'], path: '/srv/ctdir' }],
        templates: [],
      },
      false,
    );
    ctTemplate(sim);
    const linked = sim.run('pct', ['clone', '900', '103']);
    expect(linked.stdout).toContain('create linked clone of mount point rootfs (local-lvm:base-900-disk-0)');
    const full = sim.run('pct', ['clone', '103', '104']);
    expect(full.code).toBe(0);
    expect(full.stdout).toContain('create full clone of mountpoint rootfs (local-lvm:vm-103-disk-0)');
    const st = sim.run('pct', ['clone', '900', '105', '--storage', 'local-zfs']);
    expect(st.code).not.toBe(0);
    expect(st.stderr).toContain("parameter 'storage' not allowed for linked clones");
    expect(sim.run('pct', ['clone', '900', '105', '--full', '--storage', 'local-zfs']).code).toBe(0);
    expect(sim.conf('lxc', 105)).toContain('rootfs: local-zfs:subvol-105-disk-0,size=8G');

    ctTemplate(sim, 950, 'ctdir');
    const onDir = sim.run('pct', ['clone', '950', '106']);
    expect(onDir.code).not.toBe(0);
    expect(onDir.stderr).toContain(
      "Linked clone feature for 'ctdir:950/base-950-disk-0.raw' is not available",
    );
    expect(sim.run('pct', ['status', '106']).code).not.toBe(0);

    sim.run('pct', ['start', '103']);
    const runningFull = sim.run('pct', ['clone', '103', '107']);
    expect(runningFull.code).not.toBe(0);
    expect(runningFull.stderr).toContain(
      'Full clone of a running container is only possible from a snapshot',
    );
    expect(sim.conf('lxc', 103)).not.toContain('lock:');
  });

  it('trap 7: linked clones block template deletion on ZFS but not on LVM-thin', () => {
    const sim = makeSim();
    ctTemplate(sim, 900, 'local-zfs');
    sim.run('pct', ['clone', '900', '103']);
    expect(sim.conf('lxc', 103)).toContain('rootfs: local-zfs:basevol-900-disk-0/subvol-103-disk-0,size=8G');
    const zfs = sim.run('pct', ['destroy', '900']);
    expect(zfs.code).toBe(255);
    expect(zfs.stderr).toContain("base volume 'basevol-900-disk-0' is still in use by linked clones");
    expect(sim.conf('lxc', 900)).toContain('template: 1');

    ctTemplate(sim, 901, 'local-lvm');
    sim.run('pct', ['clone', '901', '104']);
    expect(sim.run('pct', ['destroy', '901']).code).toBe(0);
    expect(sim.run('pct', ['status', '901']).code).not.toBe(0);
    expect(sim.run('pct', ['start', '104']).code).toBe(0);
  });

  it('trap 8: snapshot names: letter first, 2-40 chars, reserved names', () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    const date = sim.run('pct', ['snapshot', '103', '2025-01-01']);
    expect(date.code).not.toBe(0);
    expect(date.stderr).toContain("snapname: invalid format - invalid configuration ID '2025-01-01'");
    expect(sim.run('pct', ['snapshot', '103', 'a']).stderr).toContain("invalid configuration ID 'a'");
    expect(sim.run('pct', ['snapshot', '103', `s${'x'.repeat(40)}`]).stderr).toContain(
      'snapname: value may only be 40 characters long',
    );
    expect(sim.run('pct', ['snapshot', '103', 'current']).stderr).toContain(
      "unable to use snapshot name 'current' (reserved name)",
    );
    expect(sim.run('pct', ['snapshot', '103', 'vzdump']).stderr).toContain(
      "unable to use snapshot name 'vzdump' (reserved name)",
    );
    expect(sim.run('pct', ['snapshot', '103', 'Before-Upgrade_1']).code).toBe(0);
    expect(sim.conf('lxc', 103)).toContain('[Before-Upgrade_1]');
  });

  it('trap 9: hostnames must be DNS names', () => {
    const sim = makeSim();
    ctTemplate(sim);
    for (const bad of ['step_ca', '-web', 'web-']) {
      const r = sim.run('pct', ['clone', '900', '103', '--hostname', bad]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        '400 Parameter verification failed.\nhostname: invalid format - value does not look like a valid DNS name',
      );
    }
    expect(sim.run('pct', ['clone', '900', '103', '--hostname', 'step-ca.internal']).code).toBe(0);
  });

  it('trap 10: storage content types', () => {
    const sim = makeSim();
    const iso = sim.run('pct', ['create', '100', 'local:iso/ubuntu.iso', '--rootfs', 'local-lvm:8']);
    expect(iso.stderr).toContain(
      "unable to use volume local:iso/ubuntu.iso - content type needs to be 'vztmpl'",
    );
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    const mp = sim.run('pct', ['set', '103', '--mp0', 'local:4,mp=/data']);
    expect(mp.code).not.toBe(0);
    expect(mp.stderr).toContain("storage 'local' does not allow content type 'rootdir' (Container)");
    expect(sim.run('pct', ['set', '103', '--mp0', 'local-lvm:4,mp=/data']).code).toBe(0);
    expect(sim.conf('lxc', 103)).toContain('mp0: local-lvm:vm-103-disk-1,mp=/data,size=4G');
  });

  it('trap 11: snapshots need snapshot-capable storage', () => {
    const sim = makeSim();
    ensureSimHost(
      sim.root,
      { storages: [{ id: 'ctdir', type: 'dir', content: ['rootdir'], path: '/srv/ctdir' }], templates: [] },
      false,
    );
    expect(sim.run('pct', ['create', '100', TEMPLATE, '--rootfs', 'ctdir:4']).code).toBe(0);
    const r = sim.run('pct', ['snapshot', '100', 'first']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('snapshot feature is not available');
    expect(sim.conf('lxc', 100)).not.toContain('[first]');
    expect(sim.conf('lxc', 100)).not.toContain('lock:');
  });

  it('trap 12: some commands exit 0 although their task failed; warnings exit 0', () => {
    const sim = makeSim();
    const warn = sim.run('pct', ['create', '100', TEMPLATE, '--rootfs', 'local-lvm:8']);
    expect(warn.code).toBe(0);
    expect(warn.stdout).toContain('WARN: Systemd 255 detected. You may need to enable nesting.');
    expect(warn.stderr).toBe('Task finished with 1 warning(s)!\n');

    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    const tpl = sim.run('pct', ['template', '103'], {
      PHOENIX_SIM_FAULTS: 'op=template:msg=lvrename failed',
    });
    expect(tpl.code).toBe(0);
    expect(tpl.stderr).toBe('lvrename failed\n');
    expect(sim.conf('lxc', 103)).not.toContain('template: 1');

    sim.run('pct', ['start', '103']);
    const push = sim.run('pct', ['push', '103', '/nonexistent/file', '/etc/x']);
    expect(push.code).toBe(0);
    expect(push.stderr).toBe('failed to open /nonexistent/file for reading\n');

    const rs = sim.run('pct', ['resize', '103', 'rootfs', '+2G'], { PHOENIX_SIM_FAULTS: 'op=resize' });
    expect(rs.code).toBe(0);
    expect(rs.stderr).toBe('simulated fault\n');
    expect(sim.conf('lxc', 103)).toContain('size=8G');
  });

  it('trap 13: task output goes to stdout, a failed task is one line on stderr', () => {
    const sim = makeSim({ PHOENIX_SIM_FAULTS: 'op=create:msg=mkfs failed\nexit code 1' });
    const r = sim.run('pct', ['create', '100', TEMPLATE, '--rootfs', 'local-lvm:8']);
    expect(r.code).toBe(255);
    expect(r.stdout).toContain('Logical volume "vm-100-disk-0" created.');
    expect(r.stderr).toBe('unable to create CT 100 - mkfs failed exit code 1\n');
    // Proxmox's clean-up: no config, no volume.
    expect(sim.run('pct', ['status', '100']).stderr).toContain(
      "Configuration file 'nodes/pve/lxc/100.conf' does not exist",
    );
    expect(sim.run('pvesm', ['list', 'local-lvm']).stdout).not.toContain('vm-100-disk-0');
  });

  it('trap 14: pct config shows pending values as applied; --current shows the running config', () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    sim.run('pct', ['start', '103']);
    expect(sim.run('pct', ['set', '103', '--features', 'nesting=1,keyctl=1', '--cores', '4']).code).toBe(0);
    const conf = sim.conf('lxc', 103);
    expect(conf).toContain('cores: 4\n');
    expect(conf).toContain('\n[pve:pending]\nfeatures: nesting=1,keyctl=1\n');
    expect(sim.run('pct', ['config', '103']).stdout).toContain('features: nesting=1,keyctl=1\n');
    expect(sim.run('pct', ['config', '103', '--current']).stdout).toContain('features: nesting=1\n');
    sim.run('pct', ['stop', '103']);
    sim.run('pct', ['start', '103']);
    expect(sim.conf('lxc', 103)).not.toContain('[pve:pending]');
    expect(sim.conf('lxc', 103)).toContain('features: nesting=1,keyctl=1\n');
  });

  it('trap 15: idempotency differs between pct and qm', () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    expect(sim.run('pct', ['stop', '103']).stderr).toBe('CT 103 not running\n');
    expect(sim.run('pct', ['shutdown', '103']).stderr).toBe('CT 103 not running\n');
    sim.run('pct', ['start', '103']);
    const again = sim.run('pct', ['start', '103']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toBe('CT 103 already running\n');
    const same = sim.run('pct', ['resize', '103', 'rootfs', '8G']);
    expect(same.code).not.toBe(0);
    expect(same.stderr).toBe('disk is already at specified size\n');
    expect(sim.run('pct', ['resize', '103', 'rootfs', '4G']).stderr).toBe('unable to shrink disk size\n');
    expect(sim.run('pct', ['unlock', '103']).stderr).toBe('no lock found trying to remove any lock\n');

    expect(sim.run('qm', ['create', '200', '--name', 'vm', '--scsi0', 'local-lvm:4']).code).toBe(0);
    expect(sim.run('qm', ['stop', '200'])).toMatchObject({ code: 0, stderr: '' });
    expect(sim.run('qm', ['shutdown', '200'])).toMatchObject({ code: 0, stderr: '' });
    expect(sim.run('qm', ['start', '200']).code).toBe(0);
    expect(sim.run('qm', ['start', '200'])).toMatchObject({ code: 255, stderr: 'VM 200 already running\n' });
    expect(sim.run('qm', ['resize', '200', 'scsi0', '4G'])).toMatchObject({ code: 0, stderr: '' });
    expect(sim.run('qm', ['unlock', '200'])).toMatchObject({ code: 0, stderr: '' });
  });

  it('trap 16: one VMID namespace for CTs and VMs; nextid does not reserve', () => {
    const sim = makeSim();
    sim.run('qm', ['create', '100', '--name', 'vm']);
    const r = sim.run('pct', ['create', '100', TEMPLATE, '--rootfs', 'local-lvm:8']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe("VM 100 already exists on node 'pve'\n");
    const a = sim.run('pvesh', ['get', '/cluster/nextid', '--output-format', 'json']);
    const b = sim.run('pvesh', ['get', '/cluster/nextid', '--output-format', 'json']);
    expect(a.stdout).toBe('"101"\n');
    expect(b.stdout).toBe(a.stdout);
    const taken = sim.run('pvesh', ['get', '/cluster/nextid', '--vmid', '100']);
    expect(taken.stderr).toContain('vmid: VM 100 already exists');
  });

  it('trap 17: existence checks are node-local, creation is cluster-wide', () => {
    const sim = makeSim();
    mkdirSync(join(sim.root, 'etc/pve/nodes/pve2/lxc'), { recursive: true });
    writeFileSync(
      join(sim.root, 'etc/pve/nodes/pve2/lxc/150.conf'),
      'arch: amd64\nhostname: far\nmemory: 512\nostype: debian\n',
    );
    const st = sim.run('pct', ['status', '150']);
    expect(st.code).not.toBe(0);
    expect(st.stderr).toBe("Configuration file 'nodes/pve/lxc/150.conf' does not exist\n");
    const cr = sim.run('pct', ['create', '150', TEMPLATE, '--rootfs', 'local-lvm:8']);
    expect(cr.stderr).toBe("CT 150 already exists on node 'pve2'\n");
    expect(readFileSync(join(sim.root, 'etc/pve/.vmlist'), 'utf8')).toContain(
      '"150": { "node": "pve2", "type": "lxc"',
    );
  });

  it('trap 20: custom lxc.idmap needs /etc/subuid and /etc/subgid delegation', () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    const idmap = [
      'u 0 100000 1005',
      'g 0 100000 1005',
      'u 1005 1005 1',
      'g 1005 1005 1',
      'u 1006 101006 64530',
      'g 1006 101006 64530',
    ];
    sim.writeConf('lxc', 103, sim.conf('lxc', 103) + idmap.map((l) => `lxc.idmap: ${l}\n`).join(''));
    const fail = sim.run('pct', ['start', '103']);
    expect(fail.code).toBe(255);
    expect(fail.stdout).toContain('newuidmap: uid range [1005-1006) -> [1005-1006) not allowed');
    expect(fail.stderr).toBe("startup for container '103' failed\n");
    appendFileSync(join(sim.root, 'etc/subuid'), 'root:1005:1\n');
    appendFileSync(join(sim.root, 'etc/subgid'), 'root:1005:1\n');
    expect(sim.run('pct', ['start', '103']).code).toBe(0);
  });

  it('trap 21: raw lxc.* keys cannot be set through pct; file edits survive pct writes', () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    const r = sim.run('pct', ['set', '103', '--lxc.apparmor.profile', 'unconfined']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Unknown option: lxc.apparmor.profile\n400 unable to parse option\n');
    sim.writeConf(
      'lxc',
      103,
      `${sim.conf('lxc', 103)}lxc.apparmor.profile = unconfined\nlxc.cgroup2.devices.allow: a\n`,
    );
    expect(sim.run('pct', ['set', '103', '--memory', '1024']).code).toBe(0);
    expect(
      sim.conf('lxc', 103).endsWith('lxc.apparmor.profile: unconfined\nlxc.cgroup2.devices.allow: a\n'),
    ).toBe(true);
    expect(
      sim
        .run('pct', ['config', '103'])
        .stdout.endsWith('lxc.apparmor.profile: unconfined\nlxc.cgroup2.devices.allow: a\n'),
    ).toBe(true);
  });
});
