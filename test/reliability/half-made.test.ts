// Half-made guests: a `pct|qm create|clone` killed mid-task leaves the new
// guest under `lock: create|clone` (a CT clone's source under `lock: disk`), and Proxmox cleans
// none of it up. A plain re-run must recover what Phoenix itself started — unlock, destroy the
// half-made guest, create it again, and say so — but never a guest someone else was creating,
// and never while a Proxmox task still runs for it. Real CLI, real simulator, kills by the
// simulator's fault injection (the task's process gets SIGKILL mid-task).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Call, callLog, isRead, phoenix, ROOT, type Run } from './cli.js';

const FLEET = path.join(ROOT, 'test', 'fixtures', 'engine', 'fleet');
const work = mkdtempSync(path.join(tmpdir(), 'phoenix-half-made-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function project(name: string) {
  const dir = path.join(work, name);
  cpSync(FLEET, dir, { recursive: true });
  const simRoot = path.join(dir, '.phoenix', 'sim');
  const env = { PHOENIX_SIM_ROOT: simRoot, PHOENIX_SIM_AGENT_DELAY: '0', PHOENIX_RETRY_BASE_MS: '10' };
  const conf = (kind: 'lxc' | 'qemu-server', vmid: number) => {
    const file = path.join(simRoot, 'etc', 'pve', 'nodes', 'pve', kind, `${vmid}.conf`);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  };
  const births = () => {
    const d = path.join(simRoot, 'etc', 'pve', 'phoenix', 'births');
    return existsSync(d) ? readdirSync(d) : [];
  };
  const run = (args: string[], extra: Record<string, string> = {}) =>
    phoenix(args, { cwd: dir, env: { ...env, ...extra } });
  return { dir, simRoot, env, conf, births, run };
}

const lockOf = (text: string | undefined) => /^lock: (\S+)$/m.exec(text ?? '')?.[1];
const show = (c: Call) => `${c.cmd} ${c.args.join(' ')}`;
const mutatingSince = (calls: Call[], from: number) => calls.slice(from).filter((c) => !isRead(c));
const destroys = (calls: Call[]) =>
  calls
    .filter((c) => (c.cmd === 'pct' || c.cmd === 'qm') && c.args[0] === 'destroy')
    .map((c) => Number(c.args[1]));
const out = (r: Run) => `${r.stdout}\n${r.stderr}`;

/** Re-runs until nothing is stale; returns the runs. */
async function converge(p: ReturnType<typeof project>, target: string[]): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < 3; i++) {
    const check = await p.run(['build', '--sim', '--dry-run', '--exit-code', ...target]);
    if (check.status === 0) return runs;
    runs.push(await p.run(['build', '--sim', ...target]));
  }
  throw new Error(`did not converge:\n${runs.map(out).join('\n---\n')}`);
}

describe('a creation killed mid-task is recovered by a plain re-run', () => {
  it('pct clone killed: unlocks the source, destroys only the half-made clone, clones again', async () => {
    const p = project('ct-clone');
    const faulty = await p.run(['build', '--sim', '102'], {
      PHOENIX_SIM_FAULTS: 'cmd=pct,op=clone,vmid=102,mode=crash,times=1',
    });
    expect(faulty.status).not.toBe(0);
    expect(lockOf(p.conf('lxc', 102))).toBe('create');
    expect(lockOf(p.conf('lxc', 900))).toBe('disk');
    expect(p.births()).toEqual(['102.json']);
    const status = await p.run(['status', '--sim']);
    expect(status.stdout).toMatch(
      /^102 .*, locked \(create\): half-made by an interrupted creation of Phoenix's; a build recovers it/m,
    );
    expect(status.stdout).toMatch(/^900 .*, locked \(disk\)/m);

    // The dry run says what a build would do and changes nothing.
    const before = callLog(p.simRoot).length;
    const dry = await p.run(['build', '--sim', '--dry-run', '102']);
    expect(dry.stderr).toMatch(/recovering half-made CT 102: its clone from 900 \(build pid \d+/);
    expect(dry.stdout).toMatch(/lxc\/102:exists {2}\[create\]/);
    expect(mutatingSince(callLog(p.simRoot), before)).toEqual([]);

    const from = callLog(p.simRoot).length;
    const runs = await converge(p, ['102']);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe(0);
    expect(out(runs[0]!)).toMatch(
      /recovering half-made CT 102: .*unlocked its source 900 \(lock: disk\), destroys the half-made 102/,
    );
    const after = callLog(p.simRoot).slice(from);
    const recovery = after
      .filter((c) => !isRead(c))
      .slice(0, 3)
      .map(show);
    expect(recovery).toEqual([
      'pct unlock 900',
      'pct unlock 102',
      'pct destroy 102 --purge --destroy-unreferenced-disks 1',
    ]);
    expect(destroys(after)).toEqual([102]);
    expect(lockOf(p.conf('lxc', 102))).toBeUndefined();
    expect(lockOf(p.conf('lxc', 900))).toBeUndefined();
    expect(p.conf('lxc', 900)).toMatch(/^template: 1$/m);
    expect(p.births()).toEqual([]);
  });

  it('pct create of a CT template killed: the half-made template is re-created', async () => {
    const p = project('ct-create');
    const faulty = await p.run(['build', '--sim', '900'], {
      PHOENIX_SIM_FAULTS: 'cmd=pct,op=create,vmid=900,mode=crash,times=1',
    });
    expect(faulty.status).not.toBe(0);
    expect(p.conf('lxc', 900)).toBe('lock: create\n');
    const from = callLog(p.simRoot).length;
    const runs = await converge(p, ['900']);
    expect(runs).toHaveLength(1);
    expect(out(runs[0]!)).toMatch(/recovering half-made CT 900: its create \(build pid/);
    expect(destroys(callLog(p.simRoot).slice(from))).toEqual([900]);
    expect(p.conf('lxc', 900)).toMatch(/^template: 1$/m);
    // The killed create's volume was freed with the half-made guest: only the new one is left.
    const list = spawnSync(path.join(ROOT, 'bin', 'sim', 'pvesm'), ['list', 'local-lvm', '--vmid', '900'], {
      env: { ...process.env, ...p.env, PHOENIX_SIM_SPEED: '0' },
      encoding: 'utf8',
    });
    expect(list.stdout.match(/local-lvm:\S+/g)).toEqual(['local-lvm:base-900-disk-0']);
  });

  it('qm clone killed: the half-made VM clone is re-cloned', async () => {
    const p = project('vm-clone');
    const faulty = await p.run(['build', '--sim', '1001'], {
      PHOENIX_SIM_FAULTS: 'cmd=qm,op=clone,vmid=1001,mode=crash,times=1',
    });
    expect(faulty.status).not.toBe(0);
    expect(lockOf(p.conf('qemu-server', 1001))).toBe('clone');
    const from = callLog(p.simRoot).length;
    const runs = await converge(p, ['1001']);
    expect(runs).toHaveLength(1);
    expect(out(runs[0]!)).toMatch(/recovering half-made VM 1001: its clone from 9000/);
    expect(destroys(callLog(p.simRoot).slice(from))).toEqual([1001]);
    expect(lockOf(p.conf('qemu-server', 1001))).toBeUndefined();
    expect(p.conf('qemu-server', 9000)).toMatch(/^template: 1$/m);
  });

  it('qm create killed: the half-made VM template is re-created', async () => {
    const p = project('vm-create');
    const faulty = await p.run(['build', '--sim', '9000'], {
      PHOENIX_SIM_FAULTS: 'cmd=qm,op=create,vmid=9000,mode=crash,times=1',
    });
    expect(faulty.status).not.toBe(0);
    expect(lockOf(p.conf('qemu-server', 9000))).toBe('create');
    const from = callLog(p.simRoot).length;
    const runs = await converge(p, ['9000']);
    expect(runs).toHaveLength(1);
    expect(out(runs[0]!)).toMatch(/recovering half-made VM 9000/);
    expect(destroys(callLog(p.simRoot).slice(from))).toEqual([9000]);
    expect(p.conf('qemu-server', 9000)).toMatch(/^template: 1$/m);
  });
});

describe('what Phoenix did not start, or what is still running, is left alone', () => {
  it('a half-made guest someone else was creating: the build refuses, naming it, and touches nothing', async () => {
    const p = project('foreign');
    // Prepare the simulated host (storages, templates) without building anything.
    expect((await p.run(['build', '--sim', '--dry-run', '900'])).status).toBe(0);
    // An admin's own `pct create 900`, killed mid-task: no record of Phoenix's, no stamp.
    const pct = spawn(
      path.join(ROOT, 'bin', 'sim', 'pct'),
      [
        'create',
        '900',
        'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
        '--rootfs',
        'local-lvm:8',
      ],
      {
        env: {
          ...process.env,
          ...p.env,
          PHOENIX_SIM_SPEED: '0',
          PHOENIX_SIM_FAULTS: 'cmd=pct,op=create,vmid=900,mode=crash,times=1',
        },
        stdio: 'ignore',
      },
    );
    await new Promise((resolve) => pct.on('close', resolve));
    expect(p.conf('lxc', 900)).toBe('lock: create\n');

    const from = callLog(p.simRoot).length;
    const r = await p.run(['build', '--sim', '900']);
    expect(r.status, out(r)).toBe(1);
    expect(r.stderr).toContain(
      'CT 900 is locked (create) by an interrupted creation Phoenix did not start, and no Proxmox task is running for it',
    );
    expect(r.stderr).toContain('`pct unlock 900` and `pct destroy 900`');
    expect(mutatingSince(callLog(p.simRoot), from).map(show)).toEqual([]);
    expect(p.conf('lxc', 900)).toBe('lock: create\n');
  });

  it('a clone still running after Phoenix was killed: the next build waits for its task, destroys nothing', async () => {
    const p = project('busy');
    // The clone holds its locks 4 s longer; Phoenix is killed while it runs (its Proxmox
    // commands live on in their own process group, as on a host whose operator's laptop died).
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'phoenix.js'), 'build', '--sim', '102'], {
      cwd: p.dir,
      env: {
        ...process.env,
        ...p.env,
        PHOENIX_SIM_SPEED: '0',
        PHOENIX_SIM_FAULTS: 'cmd=pct,op=clone,vmid=102,mode=delay,delay=4,times=1',
      },
      stdio: 'ignore',
    });
    for (let i = 0; i < 600 && lockOf(p.conf('lxc', 102)) !== 'create'; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(lockOf(p.conf('lxc', 102))).toBe('create');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));

    const from = callLog(p.simRoot).length;
    const r = await p.run(['build', '--sim', '102']);
    expect(r.status, out(r)).toBe(0);
    expect(r.stderr).toMatch(/waiting for Proxmox task vzclone on 900 to finish \(UPID:pve:/);
    expect(destroys(callLog(p.simRoot).slice(from))).toEqual([]);
    expect(lockOf(p.conf('lxc', 102))).toBeUndefined();
    expect(lockOf(p.conf('lxc', 900))).toBeUndefined();
    expect((await p.run(['build', '--sim', '--dry-run', '--exit-code', '102'])).status).toBe(0);
  });
});
