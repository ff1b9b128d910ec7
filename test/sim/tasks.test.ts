// Worker tasks (var/log/pve/tasks), `pvesh get /nodes/{node}/tasks`, and destroying half-made guests
// with `--destroy-unreferenced-disks`, against bin/sim.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TaskFields } from '../../src/sim/tasks.js';
import { cleanupSims, ctTemplate, makeSim, type Sim, TEMPLATE, vmTemplate } from './helpers.js';

afterAll(cleanupSims);

const UPID_RE = /^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[^:\s/]+:[^:\s/]*:[^:\s/]+:$/;

interface Task extends TaskFields {
  upid: string;
  status?: string;
  endtime?: number;
  saved?: string;
}

function tasks(sim: Sim, ...opts: string[]): Task[] {
  const r = sim.run('pvesh', ['get', '/nodes/pve/tasks', ...opts, '--output-format', 'json']);
  if (r.code !== 0) throw new Error(`pvesh failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Task[];
}

/** Resolves when `pred` holds (polling the simulated host; no timing assertions). */
async function until(pred: () => boolean, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function volumes(sim: Sim, storage = 'local-lvm'): string[] {
  const text = readFileSync(join(sim.root, 'sim/volumes', `${storage}.json`), 'utf8');
  return Object.keys((JSON.parse(text) as { volumes: Record<string, unknown> }).volumes);
}

describe('worker tasks', () => {
  it('a clone killed mid-way leaves lock: create / lock: disk and its task is not active', () => {
    const sim = makeSim();
    ctTemplate(sim);
    const r = sim.run('pct', ['clone', '900', '102'], {
      PHOENIX_SIM_FAULTS: 'cmd=pct,op=clone,vmid=102,mode=crash,times=1',
    });
    expect(r.signal).toBe('SIGKILL');
    expect(sim.conf('lxc', 102)).toContain('lock: create\n');
    expect(sim.conf('lxc', 900)).toContain('lock: disk\n');
    // The entry stayed in the active file with a dead pid...
    const active = readFileSync(join(sim.root, 'var/log/pve/tasks/active'), 'utf8');
    expect(active).toMatch(/^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzclone:900:root@pam: 0$/m);
    // ...so it is not listed as active, and the sweep archived it without a final status line.
    expect(tasks(sim, '--source', 'active')).toEqual([]);
    const [clone] = tasks(sim, '--vmid', '900', '--typefilter', 'vzclone');
    expect(clone?.status).toBe('unexpected status');
    expect(clone?.upid).toMatch(UPID_RE);
    const st = sim.run('pvesh', ['get', `/nodes/pve/tasks/${clone?.upid}/status`, '--output-format', 'json']);
    expect(JSON.parse(st.stdout)).toMatchObject({ status: 'stopped', exitstatus: 'unexpected status' });
    // Nothing is listed under the new id: a clone task carries the SOURCE vmid.
    expect(tasks(sim, '--source', 'all', '--vmid', '102')).toEqual([]);
  });

  it('a running task is listed as active under the id Proxmox uses, then archived with status OK', async () => {
    const sim = makeSim();
    ctTemplate(sim);
    const running = sim.start('pct', ['clone', '900', '103', '--hostname', 'web'], {
      PHOENIX_SIM_FAULTS: 'cmd=pct,op=clone,mode=delay,delay=30,times=1',
    });
    await until(() => tasks(sim, '--source', 'active').length > 0);
    const [t, ...more] = tasks(sim, '--source', 'active', '--vmid', '900');
    expect(more).toEqual([]);
    expect(t).toMatchObject({
      node: 'pve',
      type: 'vzclone',
      id: '900',
      user: 'root@pam',
      status: 'RUNNING',
      saved: '0',
    });
    expect(t?.upid).toMatch(UPID_RE);
    expect(t?.endtime).toBeUndefined();
    expect(t?.upid.split(':')[2]).toBe(t?.pid.toString(16).toUpperCase().padStart(8, '0'));
    expect(tasks(sim, '--source', 'active', '--vmid', '103')).toEqual([]);
    expect(tasks(sim, '--source', 'active', '--typefilter', 'vzcreate')).toEqual([]);
    const st = sim.run('pvesh', ['get', `/nodes/pve/tasks/${t?.upid}/status`, '--output-format', 'json']);
    const status = JSON.parse(st.stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'running', type: 'vzclone', id: '900', upid: t?.upid });
    expect(status.exitstatus).toBeUndefined();
    // Kill the worker from outside: the entry stays, but its pid is dead.
    process.kill(t!.pid, 'SIGKILL');
    const killed = await running;
    expect(killed.signal).toBe('SIGKILL');
    expect(tasks(sim, '--source', 'active')).toEqual([]);
    expect(sim.conf('lxc', 103)).toContain('lock: create\n');
  });

  it('a task that ends normally is archived with status OK, a failed one with its error', async () => {
    const sim = makeSim();
    ctTemplate(sim);
    const clone = sim.start('pct', ['clone', '900', '104'], {
      PHOENIX_SIM_FAULTS: 'cmd=pct,op=clone,mode=delay,delay=2,times=1',
    });
    await until(() => tasks(sim, '--source', 'active', '--vmid', '900').length === 1);
    expect((await clone).code).toBe(0);
    expect(tasks(sim, '--source', 'active')).toEqual([]);
    const archive = tasks(sim);
    expect(archive.map((t) => `${t.type}:${t.id}:${t.status}`)).toEqual([
      'vzclone:900:OK',
      'vztemplate:900:OK',
      'vzcreate:900:OK',
    ]);
    expect(archive[0]?.endtime).toBeGreaterThanOrEqual(archive[0]!.starttime);
    expect(sim.run('pct', ['start', '900']).code).toBe(255);
    const [failed] = tasks(sim, '--limit', '1');
    expect(failed).toMatchObject({
      type: 'vzstart',
      id: '900',
      status: "you can't start a CT if it's a template",
    });
    expect(tasks(sim, '--errors', '1').map((t) => t.type)).toEqual(['vzstart']);
    expect(tasks(sim, '--statusfilter', 'ok').map((t) => t.type)).toEqual([
      'vzclone',
      'vztemplate',
      'vzcreate',
    ]);
    // pre-fork failures start no task
    expect(sim.run('pct', ['destroy', '777']).code).toBe(255);
    expect(tasks(sim, '--vmid', '777')).toEqual([]);
  });

  it('validates the tasks endpoint against the API schema', () => {
    const sim = makeSim();
    const bad = sim.run('pvesh', ['get', '/nodes/pve/tasks', '--source', 'running']);
    expect(bad.code).toBe(255);
    expect(bad.stderr).toContain('400 Parameter verification failed.\n');
    expect(bad.stderr).toContain("source: value 'running' does not have a value in the enumeration");
    const vmid = sim.run('pvesh', ['get', '/nodes/pve/tasks', '--vmid', '5']);
    expect(vmid.code).toBe(255);
    expect(vmid.stderr).toContain('vmid: ');
    const nope = sim.run('pvesh', [
      'get',
      '/nodes/pve/tasks/UPID:pve:00000001:00000001:00000001:x::root@pam:/status',
    ]);
    expect(nope.code).toBe(255);
    expect(nope.stderr).toContain('upid: no such task\n');
    expect(tasks(sim, '--source', 'all')).toEqual([]);
  });
});

describe('destroying half-made guests', () => {
  it('pct: a killed create leaves its disk; unlock + destroy --destroy-unreferenced-disks frees it', () => {
    const sim = makeSim();
    const r = sim.run('pct', ['create', '900', TEMPLATE, '--rootfs', 'local-lvm:8'], {
      PHOENIX_SIM_FAULTS: 'cmd=pct,op=create,mode=crash,times=1',
    });
    expect(r.signal).toBe('SIGKILL');
    expect(sim.conf('lxc', 900)).toBe('lock: create\n');
    expect(volumes(sim)).toEqual(['vm-900-disk-0']);
    const locked = sim.run('pct', ['destroy', '900', '--purge', '1', '--destroy-unreferenced-disks', '1']);
    expect(locked.code).toBe(255);
    expect(locked.stderr).toBe('CT is locked (create)\n');
    expect(tasks(sim, '--source', 'all', '--typefilter', 'vzdestroy')).toEqual([]);
    expect(sim.run('pct', ['unlock', '900']).code).toBe(0);
    expect(sim.conf('lxc', 900)).toBe('');
    const d = sim.run('pct', ['destroy', '900', '--purge', '1', '--destroy-unreferenced-disks', '1']);
    expect(d.code).toBe(0);
    expect(d.stdout).toBe(
      '  Logical volume "vm-900-disk-0" successfully removed.\npurging CT 900 from related configurations..\n',
    );
    expect(volumes(sim)).toEqual([]);
    expect(sim.run('pct', ['config', '900']).code).not.toBe(0);
    expect(tasks(sim, '--vmid', '900', '--limit', '1')[0]).toMatchObject({ type: 'vzdestroy', status: 'OK' });
  });

  it('pct: without --destroy-unreferenced-disks (off by default) the orphaned disk stays', () => {
    const sim = makeSim();
    sim.run('pct', ['create', '900', TEMPLATE, '--rootfs', 'local-lvm:8'], {
      PHOENIX_SIM_FAULTS: 'cmd=pct,op=create,mode=crash,times=1',
    });
    sim.run('pct', ['unlock', '900']);
    expect(sim.run('pct', ['destroy', '900']).code).toBe(0);
    expect(volumes(sim)).toEqual(['vm-900-disk-0']);
  });

  it('pct: after a killed clone, unlock both and destroy the half-made CT', () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '102'], {
      PHOENIX_SIM_FAULTS: 'cmd=pct,op=clone,vmid=102,mode=crash,times=1',
    });
    expect(sim.run('pct', ['destroy', '102']).stderr).toBe('CT is locked (create)\n');
    expect(sim.run('pct', ['unlock', '102']).code).toBe(0);
    expect(sim.run('pct', ['unlock', '900']).code).toBe(0);
    const d = sim.run('pct', ['destroy', '102', '--purge', '1', '--destroy-unreferenced-disks', '1']);
    expect(d.code).toBe(0);
    expect(volumes(sim)).toEqual(['base-900-disk-0']);
    expect(sim.conf('lxc', 900)).not.toContain('lock:');
  });

  it('qm: the lock fails the qmdestroy task; after qm unlock, unreferenced disks go too', () => {
    const sim = makeSim();
    const r = sim.run('qm', ['create', '300', '--scsi0', 'local-lvm:4', '--name', 'vm'], {
      PHOENIX_SIM_FAULTS: 'cmd=qm,op=create,mode=crash,times=1',
    });
    expect(r.signal).toBe('SIGKILL');
    expect(sim.conf('qemu', 300)).toBe('lock: create\n');
    expect(volumes(sim)).toEqual(['vm-300-disk-0']);
    const locked = sim.run('qm', ['destroy', '300', '--destroy-unreferenced-disks', '1']);
    expect(locked.code).toBe(255);
    expect(locked.stderr).toBe('VM is locked (create)\n');
    expect(tasks(sim, '--vmid', '300', '--limit', '1')[0]).toMatchObject({
      type: 'qmdestroy',
      status: 'VM is locked (create)',
    });
    expect(sim.run('qm', ['unlock', '300']).code).toBe(0);
    const d = sim.run('qm', ['destroy', '300', '--purge', '1', '--destroy-unreferenced-disks', '1']);
    expect(d.code).toBe(0);
    expect(d.stdout).toBe('purging VM 300 from related configurations..\n');
    expect(volumes(sim)).toEqual([]);
    expect(tasks(sim, '--source', 'all', '--vmid', '300').map((t) => t.status)).toEqual([
      'OK',
      'VM is locked (create)',
      'unexpected status',
    ]);
  });

  it("qm: a killed clone leaves lock: clone; destroy --skiplock frees its disks, not the template's", () => {
    const sim = makeSim();
    vmTemplate(sim);
    const before = volumes(sim);
    const r = sim.run('qm', ['clone', '9000', '202', '--name', 'web'], {
      PHOENIX_SIM_FAULTS: 'cmd=qm,op=clone,vmid=202,mode=crash,times=1',
    });
    expect(r.signal).toBe('SIGKILL');
    expect(sim.conf('qemu', 202)).toContain('lock: clone\n');
    expect(sim.conf('qemu', 9000)).not.toContain('lock:');
    expect(tasks(sim, '--source', 'active')).toEqual([]);
    expect(tasks(sim, '--vmid', '9000', '--typefilter', 'qmclone')[0]?.status).toBe('unexpected status');
    const d = sim.run('qm', ['destroy', '202', '--skiplock', '1', '--destroy-unreferenced-disks', '1']);
    expect(d.code).toBe(0);
    expect(volumes(sim)).toEqual(before);
  });
});
