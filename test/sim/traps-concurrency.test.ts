// Proxmox's traps about locks, concurrency, timing and the guest agent, against bin/sim; the upstream sources are cited in src/sim (README table).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSims, ctTemplate, makeSim, vmTemplate } from './helpers.js';

afterAll(cleanupSims);

/** Resolves when `pred` holds (polling the state folder; no timing assertions). */
async function until(pred: () => boolean, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('Proxmox traps (locks, concurrency, agent)', () => {
  it('trap 5: two concurrent clones of one CT template: one succeeds, one fails with CT is locked (disk)', async () => {
    const sim = makeSim();
    ctTemplate(sim);
    // The clone holds `lock: disk` on its source for the whole copy (delay keeps the copy long).
    const hold = { PHOENIX_SIM_FAULTS: 'op=clone:mode=delay:delay=3' };
    const [a, b] = await Promise.all([
      sim.start('pct', ['clone', '900', '103', '--hostname', 'step-ca'], hold),
      sim.start('pct', ['clone', '900', '104', '--hostname', 'dns'], hold),
    ]);
    const codes = [a.code, b.code].sort();
    expect(codes).toEqual([0, 255]);
    const failed = a.code === 0 ? b : a;
    expect(failed.stderr).toMatch(/(^|\n)CT is locked \(disk\)\n$/);
    expect(sim.conf('lxc', 900)).not.toContain('lock:');
    // While a clone runs, commands that check the lock fail the same way (start/snapshot refuse a
    // template before looking at the lock).
    const running = sim.start('pct', ['clone', '900', '105'], {
      PHOENIX_SIM_FAULTS: 'op=clone:mode=delay:delay=8',
    });
    await until(() => sim.conf('lxc', 900).includes('lock: disk'));
    for (const args of [
      ['clone', '900', '106'],
      ['destroy', '900'],
      ['template', '900'],
      ['set', '900', '--cores', '2'],
    ]) {
      expect(sim.run('pct', args).stderr).toContain('CT is locked (disk)');
    }
    expect((await running).code).toBe(0);
  });

  it('trap 5: two concurrent qm clones of one VM template both succeed', async () => {
    const sim = makeSim();
    vmTemplate(sim);
    const hold = { PHOENIX_SIM_FAULTS: 'op=clone:mode=delay:delay=1' };
    const [a, b] = await Promise.all([
      sim.start('qm', ['clone', '9000', '201', '--name', 'web'], hold),
      sim.start('qm', ['clone', '9000', '202', '--name', 'db'], hold),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(sim.conf('qemu', 201)).toContain('name: web\n');
    expect(sim.conf('qemu', 202)).toContain('name: db\n');
    expect(sim.conf('qemu', 9000)).not.toContain('lock:');
  });

  it('trap 7 (VM): a ZFS VM template with linked clones cannot be destroyed', () => {
    const sim = makeSim();
    vmTemplate(sim, 9000, 'local-zfs');
    expect(sim.run('qm', ['clone', '9000', '201']).code).toBe(0);
    expect(sim.conf('qemu', 201)).toContain('scsi0: local-zfs:base-9000-disk-0/vm-201-disk-0');
    const r = sim.run('qm', ['destroy', '9000']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain("base volume 'local-zfs:base-9000-disk-0' is still in use by linked cloned");
  });

  it('trap 4 (VM): a VM template cannot be started; qm template exits 0 when its task fails', () => {
    const sim = makeSim();
    vmTemplate(sim);
    const r = sim.run('qm', ['start', '9000']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain("you can't start a vm if it's a template");
    sim.run('qm', ['create', '300', '--scsi0', 'local-lvm:4']);
    const t = sim.run('qm', ['template', '300'], { PHOENIX_SIM_FAULTS: 'op=template' });
    expect(t).toMatchObject({ code: 0, stderr: 'simulated fault\n' });
    const shrink = sim.run('qm', ['resize', '300', 'scsi0', '2G']);
    expect(shrink).toMatchObject({ code: 0, stderr: 'shrinking disks is not supported\n' });
  });

  it('trap 18: locks of an interrupted create/clone persist until pct unlock', () => {
    const sim = makeSim();
    ctTemplate(sim);
    const crash = sim.run('pct', ['clone', '900', '103'], { PHOENIX_SIM_FAULTS: 'op=clone:mode=crash' });
    expect(crash.signal).toBe('SIGKILL');
    expect(sim.conf('lxc', 900)).toContain('lock: disk\n');
    expect(sim.conf('lxc', 103)).toContain('lock: create\n');
    expect(sim.run('pct', ['clone', '900', '104']).stderr).toContain('CT is locked (disk)');
    expect(sim.run('pct', ['start', '103']).stderr).toContain('CT is locked (create)');
    expect(sim.run('pct', ['unlock', '900']).code).toBe(0);
    expect(sim.conf('lxc', 900)).not.toContain('lock:');
    expect(sim.run('pct', ['clone', '900', '104']).code).toBe(0);
    const log = sim.calls().find((c) => c.args[0] === 'clone' && c.args[2] === '103');
    expect(log).toMatchObject({ exit: null, signal: 'SIGKILL' });

    const snap = sim.run('pct', ['snapshot', '104', 'pre'], { PHOENIX_SIM_FAULTS: 'op=snapshot:mode=crash' });
    expect(snap.signal).toBe('SIGKILL');
    expect(sim.conf('lxc', 104)).toContain('lock: snapshot\n');
    expect(sim.conf('lxc', 104)).toContain('snapstate: prepare\n');
  });

  it('trap 19: flock contention: trying to acquire lock..., then a timeout after 10 s (pct push too)', async () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    sim.run('pct', ['start', '103']);
    const holder = sim.start('pct', ['set', '103', '--cores', '2'], {
      PHOENIX_SIM_FAULTS: 'op=set:mode=delay:delay=15',
    });
    await until(() => sim.run('pct', ['status', '103']).code === 0 && lockHeld(sim.root, 103));
    const [set, push] = await Promise.all([
      sim.start('pct', ['set', '103', '--memory', '1024']),
      sim.start('pct', ['push', '103', '/etc/hostname', '/etc/x']),
    ]);
    for (const r of [set, push]) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toBe(
        "trying to acquire lock...\ncan't lock file '/run/lock/lxc/pve-config-103.lock' - got timeout\n",
      );
    }
    expect((await holder).code).toBe(0);
    expect(sim.conf('lxc', 103)).toContain('cores: 2\n');
  }, 40_000);

  it('trap 22: /cluster/resources lags for new guests while /nodes/pve/lxc is live', async () => {
    const sim = makeSim();
    ctTemplate(sim);
    // pvestatd broadcasts every 10 s at speed 1; start right after a broadcast so the next is far away.
    const wait = 10_000 - (Date.now() % 10_000);
    if (wait < 7_000) await new Promise((r) => setTimeout(r, wait + 100));
    sim.run('pct', ['clone', '900', '103']);
    sim.run('pct', ['start', '103']);
    const live = JSON.parse(sim.run('pvesh', ['get', '/nodes/pve/lxc', '--output-format', 'json']).stdout);
    expect(live.find((g: { vmid: number }) => g.vmid === 103)).toMatchObject({
      status: 'running',
      name: 'tmpl',
    });
    sim.writeConf('lxc', 103, sim.conf('lxc', 103).replace('arch: amd64\n', 'arch: amd64\nlock: backup\n'));
    const res = sim.run('pvesh', ['get', '/cluster/resources', '--type', 'vm', '--output-format', 'json'], {
      PHOENIX_SIM_SPEED: '1',
    });
    const entry = JSON.parse(res.stdout).find((g: { vmid: number }) => g.vmid === 103);
    expect(entry).toEqual({
      id: 'lxc/103',
      lock: 'backup',
      node: 'pve',
      status: 'unknown',
      type: 'lxc',
      vmid: 103,
    });
    const atSpeed0 = JSON.parse(
      sim.run('pvesh', ['get', '/cluster/resources', '--type', 'vm', '--output-format', 'json']).stdout,
    );
    expect(atSpeed0.find((g: { vmid: number }) => g.vmid === 103)).toMatchObject({
      status: 'running',
      name: 'tmpl',
      template: 0,
    });
  });

  it('trap 23: the guest agent answers only some time after start', async () => {
    const sim = makeSim();
    vmTemplate(sim);
    sim.run('qm', ['clone', '9000', '201', '--name', 'web']);
    expect(sim.run('qm', ['guest', 'cmd', '201', 'ping']).stderr).toBe('VM 201 is not running\n');
    // No timed assertion (a loaded machine may take seconds per process): the agent is far away,
    // then the boot is made to have happened by moving its ready time into the past.
    sim.run('qm', ['start', '201'], { PHOENIX_SIM_AGENT_DELAY: '3600' });
    const early = sim.run('qm', ['guest', 'cmd', '201', 'ping']);
    expect(early).toMatchObject({ code: 255, stderr: 'QEMU guest agent is not running\n' });
    const runtime = join(sim.root, 'sim/guests/201/runtime.json');
    const rt = JSON.parse(readFileSync(runtime, 'utf8'));
    expect(rt.agentReadyAt).toBeGreaterThan(Date.now() + 3_000_000);
    writeFileSync(runtime, JSON.stringify({ ...rt, agentReadyAt: Date.now() - 1 }));
    expect(sim.run('qm', ['guest', 'cmd', '201', 'ping'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const exec = sim.run('qm', ['guest', 'exec', '201', '--', 'false']);
    expect(exec.code).toBe(0);
    expect(exec.stdout).toBe('{\n   "exitcode" : 1,\n   "exited" : 1\n}\n');
    const bad = sim.run('qm', ['agent', '201', 'exec']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("command: value 'exec' does not have a value in the enumeration");
    sim.run('qm', ['create', '300']);
    sim.run('qm', ['start', '300']);
    expect(sim.run('qm', ['guest', 'cmd', '300', 'ping']).stderr).toBe('No QEMU guest agent configured\n');
  });

  it('trap 24: clones get new MACs, VM clones new smbios uuid and vmgenid and a full cloud-init drive', () => {
    const sim = makeSim();
    ctTemplate(sim);
    const ct = sim.run('pct', ['clone', '900', '103']);
    expect(ct.stdout).toContain("Creating SSH host key 'ssh_host_ed25519_key'");
    const mac = (text: string): string | undefined =>
      /hwaddr=([0-9A-F:]+)/.exec(text)?.[1] ?? /virtio=([0-9A-F:]+)/.exec(text)?.[1];
    expect(mac(sim.conf('lxc', 103))).toMatch(/^BC:24:11:/);
    expect(mac(sim.conf('lxc', 103))).not.toBe(mac(sim.conf('lxc', 900)));

    vmTemplate(sim);
    sim.run('qm', ['clone', '9000', '201']);
    const src = sim.conf('qemu', 9000);
    const dst = sim.conf('qemu', 201);
    expect(mac(dst)).not.toBe(mac(src));
    const field = (t: string, k: string): string | undefined => new RegExp(`^${k}: (.*)$`, 'm').exec(t)?.[1];
    expect(field(dst, 'smbios1')).not.toBe(field(src, 'smbios1'));
    expect(field(dst, 'vmgenid')).not.toBe(field(src, 'vmgenid'));
    expect(field(dst, 'ide2')).toBe('local-lvm:vm-201-cloudinit,media=cdrom');
    expect(field(dst, 'name')).toBe('Copy-of-VM-ubuntu-tmpl');
    expect(dst).not.toContain('template:');
  });

  it('trap 25: pct exec and pct status need no lock; exec returns the inner exit code and needs a running CT', async () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    expect(sim.run('pct', ['exec', '103', '--', 'true']).stderr).toBe("container '103' not running!\n");
    sim.run('pct', ['start', '103']);
    const holder = sim.start('pct', ['set', '103', '--cores', '2'], {
      PHOENIX_SIM_FAULTS: 'op=set:mode=delay:delay=4',
    });
    await until(() => lockHeld(sim.root, 103));
    expect(sim.run('pct', ['status', '103'])).toMatchObject({
      code: 0,
      stdout: 'status: running\n',
      stderr: '',
    });
    expect(sim.run('pct', ['exec', '103', '--', 'false']).code).toBe(1);
    expect(sim.run('pct', ['exec', '103', '--', 'hostname'])).toMatchObject({
      code: 0,
      stdout: 'tmpl\n',
      stderr: '',
    });
    expect((await holder).code).toBe(0);
  });
});

function lockHeld(root: string, vmid: number): boolean {
  try {
    const h = JSON.parse(readFileSync(`${root}/run/lock/lxc/pve-config-${vmid}.lock`, 'utf8')) as {
      ex?: number;
    };
    return !!h.ex;
  } catch {
    return false;
  }
}
