// Runs the simulator's executables (bin/sim/*) as a user or Phoenix would: separate processes,
// state folder in a fresh temp dir. Needs a fresh `npm run build`.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BIN = resolve(import.meta.dirname, '../../bin/sim');
export const PHOENIX = resolve(import.meta.dirname, '../../bin/phoenix.js');

export interface Result {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Sim {
  root: string;
  env: NodeJS.ProcessEnv;
  run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Result;
  start(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Result>;
  conf(kind: 'lxc' | 'qemu', vmid: number): string;
  writeConf(kind: 'lxc' | 'qemu', vmid: number, text: string): void;
  calls(): Array<{
    cmd: string;
    args: string[];
    exit: number | null;
    start: number;
    end: number;
    signal?: string;
  }>;
}

const roots: string[] = [];

/** Removes the state folders made by `makeSim` (call from `afterAll`). */
export function cleanupSims(): void {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
}

export function makeSim(extraEnv: NodeJS.ProcessEnv = {}): Sim {
  const root = mkdtempSync(join(tmpdir(), 'phoenix-sim-'));
  roots.push(root);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PHOENIX_SIM_ROOT: root,
    PHOENIX_SIM_SPEED: '0',
    PHOENIX_SIM_FAULTS: '',
    PATH: `${BIN}:${process.env.PATH}`,
    ...extraEnv,
  };
  delete env.PHOENIX_SIM_AGENT_DELAY;
  Object.assign(env, extraEnv);
  const dir = (kind: 'lxc' | 'qemu'): string => (kind === 'lxc' ? 'lxc' : 'qemu-server');
  return {
    root,
    env,
    run(cmd, args, more = {}) {
      const r = spawnSync(join(BIN, cmd), args, { env: { ...env, ...more }, encoding: 'utf8' });
      return { stdout: r.stdout, stderr: r.stderr, code: r.status, signal: r.signal };
    },
    start(cmd, args, more = {}) {
      return new Promise((done) => {
        const child = spawn(join(BIN, cmd), args, { env: { ...env, ...more } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
        });
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        child.on('close', (code, signal) => done({ stdout, stderr, code, signal }));
      });
    },
    conf(kind, vmid) {
      return readFileSync(join(root, 'etc/pve/nodes/pve', dir(kind), `${vmid}.conf`), 'utf8');
    },
    writeConf(kind, vmid, text) {
      writeFileSync(join(root, 'etc/pve/nodes/pve', dir(kind), `${vmid}.conf`), text);
    },
    calls() {
      return readFileSync(join(root, 'calls.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    },
  };
}

export const TEMPLATE = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';

/** A CT template 900 on `storage` (default local-lvm), and optionally more setup. */
export function ctTemplate(sim: Sim, vmid = 900, storage = 'local-lvm'): void {
  const c = sim.run('pct', [
    'create',
    String(vmid),
    TEMPLATE,
    '--rootfs',
    `${storage}:8`,
    '--hostname',
    'tmpl',
    '--features',
    'nesting=1',
    '--net0',
    'name=eth0,bridge=vmbr0,ip=dhcp',
  ]);
  if (c.code !== 0) throw new Error(`pct create failed: ${c.stderr}`);
  const t = sim.run('pct', ['template', String(vmid)]);
  if (t.code !== 0) throw new Error(`pct template failed: ${t.stderr}`);
}

/** A VM template 9000 from the cloud image with a cloud-init drive and the guest agent enabled. */
export function vmTemplate(sim: Sim, vmid = 9000, storage = 'local-lvm'): void {
  const steps: string[][] = [
    [
      'create',
      String(vmid),
      '--name',
      'ubuntu-tmpl',
      '--memory',
      '2048',
      '--net0',
      'virtio,bridge=vmbr0',
      '--agent',
      '1',
    ],
    ['disk', 'import', String(vmid), '/var/lib/vz/import/noble-server-cloudimg-amd64.qcow2', storage],
    [
      'set',
      String(vmid),
      '--scsi0',
      `${storage}:vm-${vmid}-disk-0`,
      '--ide2',
      `${storage}:cloudinit`,
      '--boot',
      'order=scsi0',
    ],
    ['template', String(vmid)],
  ];
  for (const s of steps) {
    const r = sim.run('qm', s);
    if (r.code !== 0) throw new Error(`qm ${s.join(' ')} failed: ${r.stderr}`);
  }
}
