// Phoenix over a real OpenSSH server on loopback (test/ssh/sshd.sh): its pct/qm/pvesh are the
// simulator's, everything else (authentication, host keys, the ControlMaster, MaxStartups,
// dropped connections, the remote login shell) is OpenSSH's own.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshRunner } from '../../src/pve/runner.js';
import { parseHostUrl } from '../../src/pve/ssh.js';
import {
  cannotRun,
  type LoopbackSshd,
  phoenix,
  projectCopy,
  ROOT,
  simCalls,
  startSshd,
  tempDir,
} from './harness.js';

const FIXTURE = path.join(ROOT, 'test', 'ssh', 'fixture');

let sshd: LoopbackSshd | undefined;
let skip: string | undefined;
let project: { dir: string; simRoot: string };

beforeAll(async () => {
  project = projectCopy(FIXTURE);
  // The simulated node gets the storages and OS template the fixture needs, as a real node has them.
  const init = await phoenix(project.dir, ['status', '--sim'], { PHOENIX_SIM_ROOT: project.simRoot });
  if (init.status !== 0) throw new Error(`simulator init failed: ${init.stderr}`);
  const s = await startSshd(project.simRoot);
  if (typeof s === 'string') skip = cannotRun(s);
  else sshd = s;
}, 120_000);

afterAll(() => sshd?.kill());

/** A runner of its own (own control socket folder), as the CLI makes it. */
function runner(config = sshd!.sshConfig): SshRunner {
  const target = parseHostUrl(sshd!.url);
  if (!target.ok) throw new Error(target.error);
  return new SshRunner(target.value, { controlDir: tempDir('phoenix-cm-'), configFile: config });
}

/** Proxmox calls that can change the host (the simulator logs host tools too: mkdir for the lock folder). */
const mutating = (simRoot: string) =>
  simCalls(simRoot).filter(
    (c) =>
      ['pct', 'qm', 'pvesh', 'pvesm'].includes(c.cmd) &&
      !['get', 'status', 'config', 'list', 'listsnapshot', 'pending'].includes(c.args[0] ?? ''),
  );

describe('SSH transport against a real sshd', () => {
  it('hands every word to the remote command unchanged, through the login shell', async (ctx) => {
    if (skip) ctx.skip();
    const r = runner();
    const words = [
      'a b',
      "it's",
      '$HOME',
      '`id`',
      'x\ny',
      '',
      '--include=*.conf',
      '*',
      '~',
      '!x',
      '#c',
      '{a,b}',
    ];
    const out = await r.run('printf', ['%s|', ...words]);
    expect(out.stderr).toBe('');
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe(`${words.join('|')}|`);
  });

  it('reads, writes, creates exclusively and removes host files', async (ctx) => {
    if (skip) ctx.skip();
    const r = runner();
    const file = "/var/tmp/phoenix-test/it's a file";
    expect(await r.readFile(file)).toBeUndefined();
    expect(await r.createExclusive(file, 'one\n')).toBe(true);
    expect(await r.createExclusive(file, 'two\n')).toBe(false);
    expect(await r.readFile(file)).toBe('one\n');
    await r.writeFile(file, '$(touch PWNED)\n');
    expect(await r.readFile(file)).toBe('$(touch PWNED)\n');
    await r.removeFile(file);
    expect(await r.readFile(file)).toBeUndefined();
  });

  it('gives a command without input a closed stdin, so a reader ends instead of hanging', async (ctx) => {
    if (skip) ctx.skip();
    const r = runner();
    const started = Date.now();
    const out = await r.run('sh', ['-c', 'cat; echo "read done"']);
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe('read done\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('names staged files by content: same name, different scripts, no overwrite', async (ctx) => {
    if (skip) ctx.skip();
    const r = runner();
    const [a, b, a2] = await Promise.all([
      r.stage('/x/one/setup.sh', 'echo one\n'),
      r.stage('/x/two/setup.sh', 'echo two\n'),
      r.stage('/x/three/setup.sh', 'echo one\n'),
    ]);
    expect(a).not.toBe(b);
    expect(a).toBe(a2);
    expect(await r.readFile(a)).toBe('echo one\n');
    expect(await r.readFile(b)).toBe('echo two\n');
  });

  it('runs 30 host calls at once over one master connection, all succeeding under MaxStartups 10:30:100', async (ctx) => {
    if (skip) ctx.skip();
    const r = runner();
    const dir = (r as unknown as { settings: { controlDir: string } }).settings.controlDir;
    const results = await Promise.all(
      Array.from({ length: 30 }, () => r.run('pvesh', ['get', '/nodes', '--output-format', 'json'])),
    );
    expect(results.map((x) => x.exitCode)).toEqual(Array(30).fill(0));
    expect(results.every((x) => x.stdout.includes('"node":"pve"'))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('phoenix-'))).toHaveLength(1);
  });

  it('tells a refused connection (ssh exit 255) apart from a Proxmox failure, after retrying the read', async (ctx) => {
    if (skip) ctx.skip();
    const target = { user: 'root', host: '127.0.0.1', port: 1 };
    const r = new SshRunner(
      target,
      { controlDir: tempDir('phoenix-cm-'), configFile: sshd!.sshConfig },
      { attempts: 2, delayMs: 10 },
    );
    const out = await r.run('pvesh', ['get', '/nodes']);
    expect(out.exitCode).toBe(255);
    expect(out.transport).toMatch(/connect to host 127\.0\.0\.1 port 1: Connection refused/);
    expect(out.stderr).toMatch(/^ssh to ssh:\/\/root@127\.0\.0\.1:1 failed: /);
    const pve = await runner().run('pct', ['config', '99999']);
    expect(pve.exitCode).not.toBe(0);
    expect(pve.transport).toBeUndefined();
  });
});

describe('phoenix build over ssh://root@127.0.0.1:<port>', () => {
  const env = () => ({ PHOENIX_SSH_CONFIG: sshd!.sshConfig });

  it("refuses an unknown host key with ssh's reason and changes nothing", async (ctx) => {
    if (skip) ctx.skip();
    const before = simCalls(project.simRoot).length;
    const r = await phoenix(project.dir, ['build', '--host', sshd!.url], {
      PHOENIX_SSH_CONFIG: sshd!.unknownHostConfig,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Host key verification failed/);
    expect(r.stderr).toMatch(/ssh to ssh:\/\/root@127\.0\.0\.1:\d+ failed/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(simCalls(project.simRoot).length).toBe(before);
  });

  it('survives sshd dying mid-build with a clear error, then converges and is a no-op after', async (ctx) => {
    if (skip) ctx.skip();
    const build = phoenix(project.dir, ['build', '--host', sshd!.url], env());
    // Wait until the build has changed something on the host, then take the node away.
    const deadline = Date.now() + 60_000;
    while (
      !simCalls(project.simRoot).some((c) => c.cmd === 'pct' && c.args[0] === 'clone') &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 20));
    sshd!.kill();
    const broken = await build;
    expect(broken.status).not.toBe(0);
    expect(broken.stdout + broken.stderr).toMatch(/ssh to ssh:\/\/root@127\.0\.0\.1:\d+ failed: /);

    await sshd!.restart();
    const again = await phoenix(project.dir, ['build', '--host', sshd!.url], env());
    expect(again.stderr).not.toMatch(/\n\s+at /);
    expect(again.status, again.stderr).toBe(0);
    for (const id of ['900', '103', '104'])
      expect(existsSync(path.join(project.simRoot, 'etc/pve/nodes/pve/lxc', `${id}.conf`))).toBe(true);

    const writesBefore = mutating(project.simRoot).length;
    const noop = await phoenix(project.dir, ['build', '--host', sshd!.url], env());
    expect(noop.status, noop.stderr).toBe(0);
    expect(mutating(project.simRoot).slice(writesBefore)).toEqual([]);
  }, 300_000);

  it('refuses a non-root user before any connection, saying why (exit 2)', async (ctx) => {
    if (skip) ctx.skip();
    const r = await phoenix(project.dir, ['build', '--host', `ssh://admin@127.0.0.1:${sshd!.port}`], env());
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/must log in as root, not 'admin'/);
  });
});
