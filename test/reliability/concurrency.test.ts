// Concurrency: two `phoenix build` against one host at once. The second must
// wait or refuse with a message naming the first (its pid), and the host must never see the two
// interleave: in the simulator's call log, no two mutating calls on one guest overlap in time,
// and the refused build made no mutating call at all. Plus the host lock's edge cases: a lock
// left by a dead process of this machine is taken over with a message, a damaged one too, and a
// lock held by another machine refuses, naming it.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Call, callLog, isRead, phoenix, ROOT } from './cli.js';

const FLEET = path.join(ROOT, 'test', 'fixtures', 'engine', 'fleet');
const work = mkdtempSync(path.join(tmpdir(), 'phoenix-concurrency-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function project(name: string) {
  const dir = path.join(work, name);
  cpSync(FLEET, dir, { recursive: true });
  const simRoot = path.join(dir, '.phoenix', 'sim');
  return { dir, simRoot, lock: path.join(simRoot, 'run', 'lock', 'phoenix-build.lock') };
}

/** Pairs of mutating calls on the same guest whose [start, end] intervals overlap. */
function interleaved(calls: Call[]): string[] {
  const byGuest = new Map<string, Call[]>();
  for (const c of calls) {
    if (isRead(c) || (c.cmd !== 'pct' && c.cmd !== 'qm')) continue;
    const ids = c.args[0] === 'clone' ? [c.args[2]!] : [c.args[c.args[0] === 'guest' ? 2 : 1]!];
    for (const id of ids) byGuest.set(id, [...(byGuest.get(id) ?? []), c]);
  }
  const out: string[] = [];
  for (const [id, list] of byGuest) {
    const sorted = [...list].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      if (b.start < a.end)
        out.push(`${id}: "${a.cmd} ${a.args.join(' ')}" overlaps "${b.cmd} ${b.args.join(' ')}"`);
    }
  }
  return out;
}

const mutating = (calls: Call[]) => calls.filter((c) => !isRead(c)).length;

describe('two builds against one host', () => {
  it('a build started while another runs refuses, naming the first; nothing interleaves', async () => {
    const p = project('staggered');
    // A small latency scale makes the first build last a few seconds.
    const env = { PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: '0.02', PHOENIX_SIM_AGENT_DELAY: '0' };
    let startSecond: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      startSecond = resolve;
    });
    const first = phoenix(['build', '--sim'], {
      cwd: p.dir,
      env,
      // The first step has started: the first build holds the host lock.
      onStdout: (chunk) => {
        if (/ start /.test(chunk)) startSecond();
      },
    });
    await started;
    const second = phoenix(['build', '--sim'], { cwd: p.dir, env });
    const [a, b] = await Promise.all([first, second]);
    expect(a.status, a.stdout + a.stderr).toBe(0);
    expect(b.status, b.stdout + b.stderr).toBe(1);
    expect(b.stderr).toContain('another build holds');
    expect(b.stderr).toContain(`pid ${a.pid}`);
    expect(b.stdout).not.toMatch(/ start /);
    const calls = callLog(p.simRoot);
    expect(interleaved(calls)).toEqual([]);
    // Every mutating call was the first build's: a third build finds nothing to do.
    const q = await phoenix(['build', '--sim', '--dry-run', '--exit-code'], {
      cwd: p.dir,
      env: { PHOENIX_SIM_ROOT: p.simRoot },
    });
    expect(q.status, q.stdout).toBe(0);
  }, 300_000);

  it('two builds started at the same moment: exactly one builds, the other refuses naming it', async () => {
    const p = project('simultaneous');
    const env = { PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: '0.02', PHOENIX_SIM_AGENT_DELAY: '0' };
    // Initialize the simulated host first, so both start from the same state.
    await phoenix(['status', '--sim'], { cwd: p.dir, env });
    const before = callLog(p.simRoot).length;
    const runs = await Promise.all([
      phoenix(['build', '--sim'], { cwd: p.dir, env }),
      phoenix(['build', '--sim'], { cwd: p.dir, env }),
    ]);
    const winners = runs.filter((r) => r.status === 0);
    const losers = runs.filter((r) => r.status !== 0);
    expect(winners.map((r) => r.status)).toEqual([0]);
    expect(losers[0]!.stderr).toContain(`another build holds`);
    expect(losers[0]!.stderr).toContain(`pid ${winners[0]!.pid}`);
    const calls = callLog(p.simRoot).slice(before);
    expect(interleaved(calls)).toEqual([]);
    // The loser started no step, and the host saw no more mutating calls than the winner counts
    // (the winner's counter also includes writes the simulator does not log, hence ≤).
    expect(losers[0]!.stdout).not.toMatch(/ start /);
    const writes = Number(/(\d+) host writes/.exec(winners[0]!.stdout)?.[1]);
    expect(mutating(calls)).toBeLessThanOrEqual(writes);
  }, 300_000);
});

describe('the host build lock', () => {
  const env = (p: { simRoot: string }) => ({ PHOENIX_SIM_ROOT: p.simRoot });

  it("a dead process's lock on this machine is taken over, with a message", async () => {
    const p = project('dead-lock');
    // A pid that surely is gone: a child that has exited.
    const pid = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.on('exit', () => resolve(c.pid!));
    });
    mkdirSync(path.dirname(p.lock), { recursive: true });
    writeFileSync(
      p.lock,
      `${JSON.stringify({ pid, host: hostname(), start: '2026-01-01T00:00:00.000Z' })}\n`,
    );
    const r = await phoenix(['build', '--sim', '101'], { cwd: p.dir, env: env(p) });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain(`took over the build lock of process ${pid}, which is gone`);
  }, 300_000);

  it('a damaged lock file is taken over, with a message', async () => {
    const p = project('damaged-lock');
    mkdirSync(path.dirname(p.lock), { recursive: true });
    writeFileSync(p.lock, '{"pid": 12');
    const r = await phoenix(['build', '--sim', '101'], { cwd: p.dir, env: env(p) });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('took over a damaged build lock');
  }, 300_000);

  it("another machine's lock refuses, naming that machine and pid; the host is not touched", async () => {
    const p = project('foreign-lock');
    mkdirSync(path.dirname(p.lock), { recursive: true });
    writeFileSync(
      p.lock,
      `${JSON.stringify({ pid: 4242, host: 'laptop-of-alice', start: '2026-01-01T00:00:00.000Z' })}\n`,
    );
    const r = await phoenix(['build', '--sim'], { cwd: p.dir, env: env(p) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('pid 4242 on laptop-of-alice');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(callLog(p.simRoot).filter((c) => !isRead(c))).toEqual([]);
  }, 300_000);

  it('a live process of this machine holding the lock refuses the build', async () => {
    const p = project('live-lock');
    mkdirSync(path.dirname(p.lock), { recursive: true });
    writeFileSync(
      p.lock,
      `${JSON.stringify({ pid: process.pid, host: hostname(), start: '2026-01-01T00:00:00.000Z' })}\n`,
    );
    const r = await phoenix(['build', '--sim'], { cwd: p.dir, env: env(p) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`pid ${process.pid} on ${hostname()}`);
    expect(callLog(p.simRoot).filter((c) => !isRead(c))).toEqual([]);
  }, 300_000);
});
