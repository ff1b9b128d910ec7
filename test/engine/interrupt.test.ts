// Ctrl-C, in a real terminal (a pseudo-terminal) and in a pipe: no new step starts, the running
// Proxmox command finishes, polling waits stop, the summary is printed, the build lock is
// released, the exit code is 130; a second Ctrl-C aborts at once and still releases the lock.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture } from '../cli/helpers.js';
import { phoenixInPty, plain } from '../cli/pty.js';
import { project, ROOT } from './helpers.js';

const lockFile = (simRoot: string) => path.join(simRoot, 'run/lock/phoenix-build.lock');

describe('Ctrl-C in a terminal', () => {
  it('lets the running step finish, starts nothing new, prints the summary, releases the lock, exits 130', async () => {
    const p = project('small');
    const run = phoenixInPty(['build', '--sim'], {
      cwd: p.dir,
      env: { PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: '0.1' },
    });
    await run.waitFor(/lxc\/900:exists \[create\]/);
    run.ctrlC();
    const code = await run.exited;
    const out = plain(run.output());
    expect(code, out).toBe(130);
    expect(out).toContain('Ctrl-C: no new steps start');
    // The step running at the Ctrl-C finished and is drawn done, not failed.
    expect(out).toContain('✔ lxc/900:exists');
    expect(out).not.toContain('✖');
    expect(out).toMatch(/built: 1, fresh: \d+, failed: 0, blocked: 0, not started: \d+ .*\(interrupted\)/);
    expect(existsSync(lockFile(p.simRoot))).toBe(false);
  }, 120_000);

  it('a second Ctrl-C aborts at once and still releases the lock', async () => {
    const p = project('small');
    const run = phoenixInPty(['build', '--sim'], {
      cwd: p.dir,
      env: { PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: '1' },
    });
    await run.waitFor(/lxc\/900:exists \[create\]/);
    run.ctrlC();
    await run.waitFor(/no new steps start/);
    const sent = Date.now();
    run.ctrlC();
    const code = await run.exited;
    expect(code, plain(run.output())).toBe(130);
    // The template's creation takes ~20 s at speed 1: the abort did not wait for it.
    expect(Date.now() - sent).toBeLessThan(8000);
    expect(plain(run.output())).toContain('aborted');
    expect(existsSync(lockFile(p.simRoot))).toBe(false);
  }, 120_000);

  it('stops waiting for a guest agent that does not answer', async () => {
    const f = fixture('cli/vm');
    const run = phoenixInPty(['build', '--sim'], {
      cwd: f.dir,
      env: f.env({
        PHOENIX_SIM_SPEED: '0.05',
        PHOENIX_SIM_FAULTS: 'cmd=qm:op=guest-ping',
        PHOENIX_AGENT_WAIT_S: '600',
      }),
    });
    await run.waitFor(/waiting for the guest agent/);
    const sent = Date.now();
    run.ctrlC();
    const code = await run.exited;
    const out = plain(run.output());
    expect(code, out).toBe(130);
    expect(Date.now() - sent).toBeLessThan(8000);
    expect(out).toContain('◼ vm/2001:agent stopped after');
    // The agent step and the feature after it: a re-run does both.
    expect(out).toMatch(/not started: 2\b.*\(interrupted\)/);
    expect(out).not.toContain('✖');
    expect(existsSync(lockFile(f.simRoot))).toBe(false);
  }, 120_000);
});

describe('a signal without a terminal', () => {
  it('SIGINT lets running steps finish and stops scheduling (exit 130)', async () => {
    const p = project('small');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/phoenix.js'), 'build', '--sim'], {
      cwd: p.dir,
      env: { ...process.env, PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: '0.1' },
    });
    let out = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && /start lxc\/900:exists/.test(out)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(sent).toBe(true);
    expect(code).toBe(130);
    expect(out).toContain('Ctrl-C: no new steps start');
    expect(out).toMatch(/done {2}lxc\/900:exists/);
    expect(out).not.toMatch(/start lxc\/900:(running|config|storage)/);
    expect(out).toContain('(interrupted)');
    expect(existsSync(lockFile(p.simRoot))).toBe(false);
    const again = p.run(['build', '--sim']);
    expect(again.status, again.stderr).toBe(0);
    expect(p.run(['build', '--sim', '--dry-run', '--exit-code']).status).toBe(0);
  }, 240_000);

  it('SIGTERM is handled the same way, with exit 143', async () => {
    const p = project('small');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/phoenix.js'), 'build', '--sim'], {
      cwd: p.dir,
      env: { ...process.env, PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: '0.1' },
    });
    let out = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && /start lxc\/900:exists/.test(out)) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(143);
    expect(out).toMatch(/done {2}lxc\/900:exists/);
    expect(out).toContain('(interrupted)');
    expect(existsSync(lockFile(p.simRoot))).toBe(false);
  }, 240_000);
});

describe('the guest agent wait', () => {
  it('stops polling a VM that is gone, at once', async () => {
    const f = fixture('cli/vm');
    const env = f.env({
      PHOENIX_SIM_SPEED: '0.05',
      PHOENIX_SIM_FAULTS: 'cmd=qm:op=guest-ping',
      PHOENIX_AGENT_WAIT_S: '600',
    });
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/phoenix.js'), 'build', '--sim'], {
      cwd: f.dir,
      env: { ...process.env, ...env },
    });
    let out = '';
    const waiting = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/start vm\/2001:agent/.test(out)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await waiting;
    const qm = (args: string[]) =>
      spawnSync(process.execPath, [path.join(ROOT, 'bin', 'sim', 'qm'), ...args], {
        env: { ...process.env, ...env, PHOENIX_SIM_FAULTS: '' },
        encoding: 'utf8',
      });
    expect(qm(['stop', '2001']).status).toBe(0);
    expect(qm(['destroy', '2001', '--purge']).status).toBe(0);
    const gone = Date.now();
    expect(await exited).toBe(1);
    expect(Date.now() - gone).toBeLessThan(8000);
    expect(out).toMatch(/FAIL {2}vm\/2001:agent after .*VM 2001 is gone while waiting for its guest agent/);
  }, 120_000);
});
