// The hand edit of a CT config (raw lxc.* lines) runs under Proxmox's own config lock, the flock
// pct takes (pve-container src/PVE/LXC/Config.pm:34,53-57), and never overwrites a config that
// changed after Phoenix read it. Real code against the simulator's pct and flock.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Host } from '../../src/pve/host.js';
import { simRunner } from '../../src/pve/runner.js';
import { emptyHostState } from '../../src/pve/state.js';
import { noStamps } from '../../src/runner/stamps.js';
import { type StepContext, StepError } from '../../src/runner/types.js';
import { ctConfigLock, editStoppedConf } from '../../src/targets/common.js';
import { configOf, lxcGuest } from '../fixtures/model.js';
import { ROOT, tempDir } from './helpers.js';

const VMID = 300;
const CONF = `/etc/pve/nodes/pve/lxc/${VMID}.conf`;
const ENV = { PHOENIX_SIM_SPEED: '0' };

interface Sim {
  root: string;
  host: Host;
  calls(): Array<{ cmd: string; args: string[]; start: number; end: number }>;
}

async function simWithCt(): Promise<Sim> {
  const root = path.join(tempDir('phoenix-conf-lock-'), 'sim');
  const host = new Host(simRunner(root, ENV));
  const r = await host.run('pct', [
    'create',
    String(VMID),
    'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
    '--rootfs',
    'local-zfs:4',
    '--hostname',
    'ct',
  ]);
  expect(r.exitCode, r.stderr).toBe(0);
  const calls = () =>
    readFileSync(path.join(root, 'calls.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  return { root, host, calls };
}

/** A step context over the simulator; `afterRead` runs right after the step read a file. */
async function step(sim: Sim, afterRead: () => Promise<void> = async () => {}): Promise<StepContext> {
  const g = lxcGuest(VMID);
  const gs = await sim.host.readGuest(g.vmid, 'lxc', 'pve', 'stopped');
  const state = emptyHostState();
  state.nodes = ['pve'];
  const r = sim.host.runner;
  return {
    config: configOf([g]),
    guest: g,
    state,
    gs,
    stamps: noStamps(),
    fingerprint: 'f.-',
    log: () => {},
    host: {
      run: (cmd, args, opts) => sim.host.run(cmd, args, opts),
      read: (cmd, args) => sim.host.read(cmd, args),
      readFile: async (p) => {
        const text = await r.readFile(p);
        await afterRead();
        return text;
      },
      writeFile: (p, c) => r.writeFile(p, c),
      removeFile: (p) => r.removeFile(p),
      mapPath: (p) => r.mapPath(p),
      readGuest: (vmid, kind, node, known) => sim.host.readGuest(vmid, kind, node, known),
      scriptPath: (rel) => rel,
      stage: (local) => r.stage(local, ''),
      sleep: async () => {},
    },
  };
}

const addApparmor = (ctx: StepContext) =>
  editStoppedConf(
    ctx,
    (conf) => conf.main.lxc.push(['lxc.apparmor.profile', 'unconfined']),
    (gs) =>
      gs.conf.main.lxc.some(([k]) => k === 'lxc.apparmor.profile') ? undefined : 'lxc.apparmor.profile',
  );

const confText = (sim: Sim) => readFileSync(path.join(sim.root, CONF), 'utf8');

/** Starts `pct set` that holds the CT's config lock for `seconds` (the simulator's delay fault). */
async function pctSetHoldingLock(
  sim: Sim,
  seconds: number,
  description: string,
): Promise<{ done: Promise<number> }> {
  const child = spawn(
    path.join(ROOT, 'bin', 'sim', 'pct'),
    ['set', String(VMID), '--description', description],
    {
      env: {
        ...process.env,
        ...ENV,
        PHOENIX_SIM_ROOT: sim.root,
        PHOENIX_SIM_FAULTS: `cmd=pct:op=set:mode=delay:delay=${seconds}`,
      },
      stdio: 'ignore',
    },
  );
  const done = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const lockFile = path.join(sim.root, ctConfigLock(VMID));
  for (let i = 0; i < 400; i++) {
    try {
      if (JSON.parse(readFileSync(lockFile, 'utf8')).ex === child.pid) return { done };
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('pct set never took the config lock');
}

describe('hand edit of a CT config under the config lock', { timeout: 60_000 }, () => {
  it('writes the raw line through flock on /run/lock/lxc/pve-config-<id>.lock, in one host call', async () => {
    const sim = await simWithCt();
    const before = sim.calls().length;
    const writesBefore = sim.host.runner.calls.writes;
    const ctx = await step(sim);
    expect(await addApparmor(ctx)).toBe('stopped');
    expect(confText(sim)).toMatch(/^lxc\.apparmor\.profile: unconfined$/m);
    const calls = sim.calls().slice(before);
    expect(calls.map((c) => c.cmd)).toEqual(['flock']);
    expect(calls[0]!.args.slice(0, 5)).toEqual(['-w', '10', '-E', '75', '/run/lock/lxc/pve-config-300.lock']);
    expect(sim.host.runner.calls.writes - writesBefore).toBe(1);
  });

  it('does not overwrite a config that another writer changed after it was read', async () => {
    const sim = await simWithCt();
    const ctx = await step(sim, async () => {
      const r = await sim.host.run('pct', ['set', String(VMID), '--description', 'written meanwhile']);
      expect(r.exitCode, r.stderr).toBe(0);
    });
    const err = await addApparmor(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepError);
    expect((err as Error).message).toBe(
      `${CONF} changed meanwhile (another writer); nothing written, re-run`,
    );
    const text = confText(sim);
    expect(text).toContain('#written meanwhile');
    expect(text).not.toContain('lxc.apparmor.profile');
    // A re-run reads the new text and succeeds, keeping the other writer's change.
    await addApparmor(await step(sim));
    expect(confText(sim)).toMatch(/#written meanwhile\n[\s\S]*lxc\.apparmor\.profile: unconfined/);
  });

  it('waits while pct set holds the lock, and then keeps what pct set wrote', async () => {
    const sim = await simWithCt();
    const ctx = await step(sim);
    const { done: pctDone } = await pctSetHoldingLock(sim, 1.5, 'from pct set');
    const started = Date.now();
    const err = await addApparmor(ctx).catch((e: unknown) => e);
    const waited = Date.now() - started;
    expect(await pctDone).toBe(0);
    // The edit read the config before pct set wrote it: it waited for the lock, saw the change
    // and wrote nothing, instead of overwriting pct's write.
    expect(waited).toBeGreaterThan(800);
    expect((err as Error).message).toContain('changed meanwhile');
    expect(confText(sim)).toContain('#from pct set');
    const flock = sim.calls().find((c) => c.cmd === 'flock')!;
    const pct = sim.calls().find((c) => c.cmd === 'pct' && c.args[0] === 'set')!;
    expect(flock.end).toBeGreaterThanOrEqual(pct.end - 50);
  });

  it("the simulator's flock gives up after -w seconds with the conflict exit code while pct set holds the lock", async () => {
    const sim = await simWithCt();
    const { done: pctDone } = await pctSetHoldingLock(sim, 1, 'held');
    const r = await sim.host.run('flock', ['-w', '0.3', '-E', '75', ctConfigLock(VMID), 'true']);
    expect(r.exitCode).toBe(75);
    expect(await pctDone).toBe(0);
    const other = await sim.host.run('flock', ['-w', '1', '/run/lock/other.lock', 'true']);
    expect(other.exitCode).toBe(70);
    expect(other.stderr).toContain('flock on /run/lock/other.lock is not simulated');
  });
});
