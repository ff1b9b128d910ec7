// Ctrl-C: no new step starts, the running Proxmox command finishes, the lock is released, and a
// re-run completes the rest.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { project, ROOT } from './helpers.js';

describe('interrupt', () => {
  it('lets running steps finish and stops scheduling', async () => {
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
    expect(code).toBe(1);
    expect(out).toContain('interrupt: no new steps start');
    expect(out).toMatch(/done {2}lxc\/900:exists/);
    expect(out).not.toMatch(/start lxc\/900:(running|config|storage)/);
    expect(out).toContain('(interrupted)');
    expect(existsSync(path.join(p.simRoot, 'run/lock/phoenix-build.lock'))).toBe(false);
    const again = p.run(['build', '--sim']);
    expect(again.status, again.stderr).toBe(0);
    expect(p.run(['build', '--sim', '--dry-run', '--exit-code']).status).toBe(0);
  }, 240_000);
});
