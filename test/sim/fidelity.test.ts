// Where the simulator must fail (or behave) as Proxmox's source does, not as an orchestrator
// might expect. Each case names the upstream code it follows in src/sim (see src/sim/README.md).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanupSims, ctTemplate, makeSim, type Sim, TEMPLATE } from './helpers.js';

afterAll(cleanupSims);

function runningCt(sim: Sim, vmid: number, extra: string[] = []): void {
  const c = sim.run('pct', [
    'create',
    String(vmid),
    TEMPLATE,
    '--rootfs',
    'local-lvm:8',
    '--hostname',
    `ct${vmid}`,
    ...extra,
  ]);
  if (c.code !== 0) throw new Error(`pct create failed: ${c.stderr}`);
  const s = sim.run('pct', ['start', String(vmid)]);
  if (s.code !== 0) throw new Error(`pct start failed: ${s.stdout}${s.stderr}`);
}

describe('the simulator refuses what Proxmox refuses', () => {
  it('pct snapshot of a CT with a bind mount or a device mount fails: snapshot feature is not available', () => {
    const sim = makeSim();
    for (const [vmid, mp] of [
      [101, '/mnt/pve/data,mp=/data'],
      [102, '/dev/sdb1,mp=/mnt/disk'],
    ] as const) {
      expect(
        sim.run('pct', ['create', String(vmid), TEMPLATE, '--rootfs', 'local-lvm:8', '--mp0', mp]).code,
      ).toBe(0);
      const r = sim.run('pct', ['snapshot', String(vmid), 'before']);
      expect(r.code).toBe(255);
      expect(r.stderr).toContain('snapshot feature is not available');
      expect(sim.conf('lxc', vmid)).not.toContain('[before]');
    }
    // Without the bind mount the same CT can be snapshotted.
    expect(sim.run('pct', ['set', '101', '--delete', 'mp0']).code).toBe(0);
    expect(sim.run('pct', ['snapshot', '101', 'before']).code).toBe(0);
  });

  it('import/ holds only .ova .ovf .qcow2 .raw .vmdk: an .img cloud image is not listed and import-from refuses it', () => {
    const sim = makeSim();
    sim.run('pvesm', ['status']); // initializes the host
    const img = join(sim.root, 'var/lib/vz/import/noble-server-cloudimg-amd64.img');
    writeFileSync(img, 'qcow2 bytes\n');
    const list = sim.run('pvesh', [
      'get',
      '/nodes/pve/storage/local/content',
      '--content',
      'import',
      '--output-format',
      'json',
    ]);
    const volids = (JSON.parse(list.stdout) as Array<{ volid: string; format: string }>).map(
      (e) => `${e.volid} ${e.format}`,
    );
    expect(volids).toEqual(['local:import/noble-server-cloudimg-amd64.qcow2 qcow2']);
    const bad = sim.run('qm', [
      'create',
      '9000',
      '--scsi0',
      'local-lvm:0,import-from=local:import/noble-server-cloudimg-amd64.img',
    ]);
    expect(bad.code).toBe(255);
    expect(bad.stderr).toBe(
      "unable to parse directory volume name 'import/noble-server-cloudimg-amd64.img'\n",
    );
    expect(existsSync(join(sim.root, 'etc/pve/nodes/pve/qemu-server/9000.conf'))).toBe(false);
    const good = sim.run('qm', [
      'create',
      '9000',
      '--scsi0',
      'local-lvm:0,import-from=local:import/noble-server-cloudimg-amd64.qcow2',
    ]);
    expect(good.code).toBe(0);
    expect(sim.conf('qemu', 9000)).toMatch(/^scsi0: local-lvm:vm-9000-disk-0,size=/m);
  });

  it('cloud-init keys set on a running VM go to the main section with the old value in [special:cloudinit], cleared by qm start', () => {
    const sim = makeSim();
    const create = [
      'create',
      '9001',
      '--memory',
      '1024',
      '--ide2',
      'local-lvm:cloudinit',
      '--ipconfig0',
      'ip=10.0.0.5/24,gw=10.0.0.1',
      '--ciuser',
      'ops',
    ];
    expect(sim.run('qm', create).code).toBe(0);
    expect(sim.run('qm', ['start', '9001']).code).toBe(0);
    const set = sim.run('qm', [
      'set',
      '9001',
      '--ipconfig0',
      'ip=10.0.0.6/24,gw=10.0.0.1',
      '--searchdomain',
      'lan',
      '--memory',
      '2048',
    ]);
    expect(set.code).toBe(0);
    const conf = sim.conf('qemu', 9001);
    const [main, rest = ''] = conf.split('\n[PENDING]\n');
    const pending = rest.split('\n[')[0];
    expect(main).toContain('ipconfig0: ip=10.0.0.6/24,gw=10.0.0.1\n');
    expect(main).toContain('searchdomain: lan\n');
    expect(pending).toBe('memory: 2048\n');
    expect(conf).toContain(
      '[special:cloudinit]\nadded: searchdomain\nipconfig0: ip=10.0.0.5/24,gw=10.0.0.1\n',
    );
    expect(sim.run('qm', ['stop', '9001']).code).toBe(0);
    expect(sim.run('qm', ['start', '9001']).code).toBe(0);
    expect(sim.conf('qemu', 9001)).not.toContain('[special:cloudinit]');
  });

  it('a CT with two devN naming one device does not start: failed to mknod ... File exists', () => {
    const sim = makeSim();
    const args = [
      'create',
      '911',
      TEMPLATE,
      '--rootfs',
      'local-lvm:8',
      '--dev0',
      '/dev/nvidia0',
      '--dev1',
      '/dev/nvidia0',
    ];
    expect(sim.run('pct', args).code).toBe(0);
    const r = sim.run('pct', ['start', '911']);
    expect(r.code).toBe(255);
    expect(r.stdout).toContain('failed to mknod /var/lib/lxc/911/passthrough/dev/nvidia0: File exists');
    expect(r.stderr).toContain("startup for container '911' failed");
    expect(sim.run('pct', ['status', '911']).stdout).toBe('status: stopped\n');
  });

  it('a linked clone of a linked-clone ZFS template is named <base>/<name>, two parts', () => {
    const sim = makeSim();
    ctTemplate(sim, 900, 'local-zfs');
    expect(sim.run('pct', ['clone', '900', '901']).code).toBe(0);
    expect(sim.run('pct', ['template', '901']).code).toBe(0);
    expect(sim.run('pct', ['clone', '901', '911']).code).toBe(0);
    expect(sim.conf('lxc', 901)).toMatch(/^rootfs: local-zfs:basevol-900-disk-0\/basevol-901-disk-0,/m);
    expect(sim.conf('lxc', 911)).toMatch(/^rootfs: local-zfs:basevol-901-disk-0\/subvol-911-disk-0,/m);
  });

  it('tags are stored lower-cased, sorted and de-duplicated by pct and qm', () => {
    const sim = makeSim();
    expect(
      sim.run('pct', ['create', '120', TEMPLATE, '--rootfs', 'local-lvm:4', '--tags', 'Phoenix;CA;ca']).code,
    ).toBe(0);
    expect(sim.conf('lxc', 120)).toContain('tags: ca;phoenix\n');
    expect(sim.run('pct', ['set', '120', '--tags', 'Web,db web']).code).toBe(0);
    expect(sim.conf('lxc', 120)).toContain('tags: db;web\n');
    expect(sim.run('qm', ['create', '121', '--tags', 'Zeta;alpha']).code).toBe(0);
    expect(sim.conf('qemu', 121)).toContain('tags: alpha;zeta\n');
  });

  it('pct set --hostname on a running CT changes the config at once, the hostname inside only at the next start', () => {
    const sim = makeSim();
    runningCt(sim, 130);
    expect(sim.run('pct', ['set', '130', '--hostname', 'renamed']).code).toBe(0);
    expect(sim.conf('lxc', 130)).toContain('hostname: renamed\n');
    expect(sim.conf('lxc', 130)).not.toContain('[pve:pending]');
    expect(sim.run('pct', ['exec', '130', '--', 'cat', '/etc/hostname']).stdout).toBe('ct130\n');
    sim.run('pct', ['stop', '130']);
    sim.run('pct', ['start', '130']);
    expect(sim.run('pct', ['exec', '130', '--', 'hostname']).stdout).toBe('renamed\n');
  });
});

describe('pct exec runs argv without a shell, in a guest with files', () => {
  it('a shell builtin is no program (exit 127); what the model cannot answer fails loudly', () => {
    const sim = makeSim();
    runningCt(sim, 140);
    const ex = (...argv: string[]) => sim.run('pct', ['exec', '140', '--', ...argv]);
    const cmd = ex('command', '-v', 'curl');
    expect(cmd.code).toBe(127);
    expect(cmd.stderr).toContain('Failed to exec "command"');
    expect(ex('bash', '/root/missing.sh')).toMatchObject({
      code: 127,
      stderr: 'bash: /root/missing.sh: No such file or directory\n',
    });
    // What the model cannot answer fails loudly instead of succeeding.
    const apt = ex('apt-get', 'install', '-y', 'curl');
    expect(apt.code).toBe(70);
    expect(apt.stderr).toContain('exec-rules.json');
    const log = readFileSync(join(sim.root, 'sim/guests/140/exec.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(log[0]!)).toMatchObject({ via: 'pct exec', cmd: ['command', '-v', 'curl'], exit: 127 });
  });

  it('mkdir -p then test -d, push then sha256sum, rm then test -f agree about the guest files', () => {
    const sim = makeSim();
    runningCt(sim, 142);
    const ex = (...argv: string[]) => sim.run('pct', ['exec', '142', '--', ...argv]);
    expect(ex('test', '-d', '/opt/app/conf').code).toBe(1);
    expect(ex('mkdir', '/opt/app/conf').code).toBe(1);
    expect(ex('mkdir', '-p', '/opt/app/conf').code).toBe(0);
    expect(ex('test', '-d', '/opt/app/conf').code).toBe(0);
    const local = join(sim.root, 'payload.txt');
    writeFileSync(local, 'hello\n');
    expect(sim.run('pct', ['push', '142', local, '/opt/app/conf/x.txt']).code).toBe(0);
    expect(sim.run('pct', ['push', '142', local, '/nowhere/x.txt']).stderr).toContain(
      'failed to create file: /nowhere/x.txt',
    );
    expect(ex('sha256sum', '/opt/app/conf/x.txt').stdout).toBe(
      '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  /opt/app/conf/x.txt\n',
    );
    expect(ex('rm', '/opt/app/conf/x.txt').code).toBe(0);
    expect(ex('test', '-f', '/opt/app/conf/x.txt').code).toBe(1);
  });

  it('pct exec hands its stdin to the command: it waits for EOF and gets what was written', async () => {
    const sim = makeSim();
    runningCt(sim, 141);
    const child = spawn(join(BIN, 'pct'), ['exec', '141', '--', 'cat'], { env: sim.env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    let exited = false;
    const done = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    child.on('close', () => {
      exited = true;
    });
    await new Promise((r) => setTimeout(r, 2500));
    expect(exited).toBe(false); // an open stdin without EOF blocks the command, as lxc-attach does
    child.stdin.end('from the caller\n');
    expect(await done).toBe(0);
    expect(out).toBe('from the caller\n');
  });
});

describe('host paths and tools an orchestrator may use', () => {
  it('/etc/pve has the local, lxc and qemu-server links pmxcfs makes', () => {
    const sim = makeSim();
    sim.run('pvesm', ['status']);
    expect(readlinkSync(join(sim.root, 'etc/pve/local'))).toBe('nodes/pve');
    expect(readlinkSync(join(sim.root, 'etc/pve/lxc'))).toBe('nodes/pve/lxc');
    expect(readlinkSync(join(sim.root, 'etc/pve/qemu-server'))).toBe('nodes/pve/qemu-server');
    sim.run('pct', ['create', '150', TEMPLATE, '--rootfs', 'local-lvm:4']);
    expect(existsSync(join(sim.root, 'etc/pve/lxc/150.conf'))).toBe(true);
  });

  it('pveam lists, downloads and then offers a template to pct create', () => {
    const sim = makeSim();
    const avail = sim.run('pveam', ['available', '--section', 'system']);
    expect(avail.stdout).toMatch(/^system {10}debian-12-standard_12\.12-1_amd64\.tar\.zst +amd64$/m);
    const dl = sim.run('pveam', ['download', 'local', 'debian-12-standard_12.12-1_amd64.tar.zst']);
    expect(dl.code).toBe(0);
    expect(
      sim.run('pveam', ['download', 'local-lvm', 'debian-12-standard_12.12-1_amd64.tar.zst']).stderr,
    ).toBe("storage 'local-lvm' does not support templates\n");
    expect(sim.run('pveam', ['list', 'local']).stdout).toContain(
      'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst',
    );
    const c = sim.run('pct', [
      'create',
      '160',
      'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst',
      '--rootfs',
      'local-lvm:4',
    ]);
    expect(c.code).toBe(0);
    expect(sim.conf('lxc', 160)).toContain('ostype: debian\n');
  });

  it('a VM disk larger than a non-sparse ZFS pool fails with zfs out of space; storage status adds up', () => {
    const sim = makeSim();
    const r = sim.run('qm', ['create', '170', '--scsi0', 'quickOS-vm-disks:5000']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain("zfs error: cannot create 'quickOS/vm-disks/vm-170-disk-0': out of space");
    expect(sim.run('qm', ['create', '171', '--scsi0', 'quickOS-vm-disks:100']).code).toBe(0);
    const st = JSON.parse(
      sim.run('pvesh', ['get', '/nodes/pve/storage', '--output-format', 'json']).stdout,
    ) as Array<Record<string, number | string>>;
    const zfs = st.find((s) => s.storage === 'quickOS-vm-disks')!;
    expect(zfs.used).toBe(100 * 1024 ** 3);
    expect(Number(zfs.used) + Number(zfs.avail)).toBe(zfs.total);
  });
});
