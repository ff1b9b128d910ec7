// A fleet made on the simulated host the way an admin (or another tool) makes one, without
// Phoenix: Proxmox commands run through the simulator library in this process (no process per
// command), plus the hand edits Proxmox has no command for (raw lxc lines, firewall files).
// Families of 25: a CT template and a VM template; linked clones of both; a full container made
// from the OS template; bind mounts, snapshots, firewall rules, Proxmox features, GPUs, idmaps,
// tags, startup order, cloud-init users, passwords and static addresses along the way.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureSimHost, main } from '../../src/sim/index.js';
import type { Out } from '../../src/sim/io.js';

const TEMPLATE = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
const IMAGE = 'local:import/noble-server-cloudimg-amd64.qcow2';

export function hostFleet(root: string, n: number): void {
  const saved = { root: process.env.PHOENIX_SIM_ROOT, speed: process.env.PHOENIX_SIM_SPEED };
  process.env.PHOENIX_SIM_ROOT = root;
  process.env.PHOENIX_SIM_SPEED = '0';
  try {
    ensureSimHost(
      root,
      {
        storages: [
          { id: 'local', type: 'dir', content: ['vztmpl', 'iso', 'import'], path: '/var/lib/vz' },
          { id: 'tank-ct', type: 'zfspool', content: ['rootdir', 'images'], pool: 'tank/ct' },
          { id: 'tank-vm', type: 'zfspool', content: ['images'], pool: 'tank/vm' },
        ],
        templates: [TEMPLATE, IMAGE],
      },
      false,
    );
    const out: string[] = [];
    const run = (cmd: string, ...args: string[]) => {
      const code = main(cmd, args, {
        out: (s: string) => out.push(s),
        err: (s: string) => out.push(s),
      } as Out);
      if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out.slice(-3).join('')}`);
    };
    const conf = (kind: 'lxc' | 'qemu-server', id: number) =>
      path.join(root, 'etc/pve/nodes/pve', kind, `${id}.conf`);
    // The custom idmap below passes gid 33 through: root must be delegated it (newgidmap checks).
    appendFileSync(path.join(root, 'etc/subgid'), 'root:33:1\n');
    let made = 0;
    for (let f = 0; made < n; f++) {
      const base = 20000 + f * 100;
      const T = base;
      const V = base + 1;
      const net = (j: number) =>
        `name=eth0,bridge=vmbr0,gw=10.30.0.1,hwaddr=02:30:00:${(f % 256).toString(16).padStart(2, '0').toUpperCase()}:${j.toString(16).padStart(2, '0').toUpperCase()}:01,ip=10.30.${f}.${10 + j}/16,type=veth`;
      run(
        'pct',
        'create',
        String(T),
        TEMPLATE,
        '--hostname',
        `f${f}-base`,
        '--rootfs',
        'tank-ct:8',
        '--unprivileged',
        '1',
        '--cores',
        '2',
        '--memory',
        '1024',
        '--swap',
        '512',
        '--net0',
        net(0),
      );
      run('pct', 'template', String(T));
      run(
        'qm',
        'create',
        String(V),
        '--name',
        `f${f}-cloud`,
        '--memory',
        '2048',
        '--cores',
        '2',
        '--net0',
        'virtio,bridge=vmbr0',
        '--scsihw',
        'virtio-scsi-pci',
        '--scsi0',
        `tank-vm:0,import-from=${IMAGE}`,
        '--ide2',
        'tank-vm:cloudinit',
        '--ciuser',
        'admin',
        '--ipconfig0',
        'ip=dhcp',
        '--agent',
        '1',
      );
      run('qm', 'template', String(V));
      made += 2;
      for (let j = 2; j < 25 && made < n; j++, made++) {
        const id = base + j;
        if (j % 5 === 4) {
          // A VM cloned from the cloud template, with a static address and a password.
          run('qm', 'clone', String(V), String(id), '--name', `f${f}-vm${j}`);
          run(
            'qm',
            'set',
            String(id),
            '--ipconfig0',
            `ip=10.31.${f}.${j}/16,gw=10.31.0.1`,
            '--cipassword',
            'not-in-the-config',
            '--nameserver',
            '10.30.0.2',
            '--onboot',
            '1',
            '--tags',
            'vm;adopted',
          );
          run('qm', 'start', String(id));
        } else if (j % 7 === 3) {
          // A container made from the OS template, with raw lxc lines and a custom idmap.
          run(
            'pct',
            'create',
            String(id),
            TEMPLATE,
            '--hostname',
            `f${f}-full${j}`,
            '--rootfs',
            'tank-ct:10',
            '--unprivileged',
            '1',
            '--net0',
            net(j),
            '--cores',
            '1',
            '--memory',
            '512',
            '--features',
            'nesting=1,keyctl=1',
          );
          appendFileSync(
            conf('lxc', id),
            'lxc.apparmor.profile: unconfined\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 33\nlxc.idmap: g 33 33 1\nlxc.idmap: g 34 100034 65502\n',
          );
          run('pct', 'start', String(id));
        } else {
          run('pct', 'clone', String(T), String(id), '--hostname', `f${f}-svc${j}`);
          const extra =
            j % 3 === 0
              ? [
                  '--dev0',
                  '/dev/nvidia0',
                  '--dev1',
                  '/dev/nvidiactl',
                  '--dev2',
                  '/dev/nvidia-uvm',
                  '--dev3',
                  '/dev/nvidia-uvm-tools',
                  '--dev4',
                  '/dev/nvidia-caps/nvidia-cap1',
                  '--dev5',
                  '/dev/nvidia-caps/nvidia-cap2',
                ]
              : [];
          run(
            'pct',
            'set',
            String(id),
            '--net0',
            net(j),
            '--cores',
            String(1 + (j % 4)),
            '--memory',
            String(512 * (1 + (j % 3))),
            '--onboot',
            '1',
            '--startup',
            `order=${2 + (j % 3)},up=5`,
            '--tags',
            'svc',
            ...extra,
          );
          if (j % 4 === 1) {
            const dir = `/mnt/data/${id}`;
            mkdirSync(path.join(root, dir), { recursive: true });
            run('pct', 'set', String(id), '--mp0', `${dir},mp=/srv/data`);
          } else {
            run('pct', 'snapshot', String(id), 'installed', '--description', 'after setup');
          }
          if (j % 2 === 0) {
            mkdirSync(path.join(root, 'etc/pve/firewall'), { recursive: true });
            writeFileSync(
              path.join(root, 'etc/pve/firewall', `${id}.fw`),
              `[OPTIONS]\n\nenable: 1\npolicy_in: DROP\n\n[RULES]\n\nIN ACCEPT -source 10.30.0.0/16 -p tcp -dport 22 # ssh\nOUT ACCEPT -p udp -dport 53\n`,
            );
          }
          run('pct', 'start', String(id));
        }
      }
    }
  } finally {
    process.env.PHOENIX_SIM_ROOT = saved.root;
    process.env.PHOENIX_SIM_SPEED = saved.speed;
    if (saved.root === undefined) delete process.env.PHOENIX_SIM_ROOT;
    if (saved.speed === undefined) delete process.env.PHOENIX_SIM_SPEED;
  }
}
