// The transport's decisions, in-process: host URLs, the ssh command line, telling ssh's failures
// from Proxmox's, the one quoted remote command line, pct exec's environment, staged names.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { remoteCommandLine } from '../../src/pve/quote.js';
import { guestCleanEnv, LocalRunner, stagedPath } from '../../src/pve/runner.js';
import { controlDir, parseHostUrl, sshArgv, sshFailure } from '../../src/pve/ssh.js';
import { tempDir } from './harness.js';

describe('--host URL', () => {
  it('takes ssh://root@host, a port, and IPv6 in brackets', () => {
    expect(parseHostUrl('ssh://root@pve1')).toEqual({ ok: true, value: { user: 'root', host: 'pve1' } });
    expect(parseHostUrl('ssh://root@pve1.lan:2222/')).toEqual({
      ok: true,
      value: { user: 'root', host: 'pve1.lan', port: 2222 },
    });
    expect(parseHostUrl('ssh://root@[fd00::1]:22')).toEqual({
      ok: true,
      value: { user: 'root', host: 'fd00::1', port: 22 },
    });
  });

  it('means root when no user is given', () => {
    expect(parseHostUrl('ssh://pve1')).toEqual({ ok: true, value: { user: 'root', host: 'pve1' } });
  });

  it('refuses a user other than root, saying why and what to write instead', () => {
    const r = parseHostUrl('ssh://admin@pve1:2222');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/must log in as root, not 'admin'/);
      expect(r.error).toMatch(/root-only|root only/);
      expect(r.error).toMatch(/ssh:\/\/root@pve1:2222/);
    }
  });

  it('refuses what ssh would read as an option, and bad ports', () => {
    for (const bad of [
      'ssh://-oProxyCommand=x',
      'ssh://root@-x',
      'root@pve1',
      'ssh://root@pve1:0',
      'ssh://root@pve1:70000',
      'ssh://root@pve1:22:33',
    ])
      expect(parseHostUrl(bad).ok, bad).toBe(false);
  });
});

describe('ssh command line', () => {
  const settings = { controlDir: '/tmp/phoenix-0' };
  it('shares one master per host, never prompts, and times out the connect', () => {
    const argv = sshArgv({ user: 'root', host: 'pve1', port: 2222 }, settings, 'pct list', false);
    const opts = argv.flatMap((a, i) => (argv[i - 1] === '-o' ? [a] : []));
    expect(opts).toEqual(
      expect.arrayContaining([
        'BatchMode=yes',
        'ConnectTimeout=10',
        'ControlMaster=auto',
        'ControlPath=/tmp/phoenix-0/phoenix-%C',
        'ControlPersist=60',
      ]),
    );
    expect(argv).toContain('-p');
    expect(argv[argv.indexOf('-p') + 1]).toBe('2222');
    expect(argv.slice(-5)).toEqual(['-l', 'root', 'pve1', '--', 'pct list']);
  });

  it('closes stdin (-n) exactly when the call has no input', () => {
    expect(sshArgv({ user: 'root', host: 'h' }, settings, 'x', false)).toContain('-n');
    expect(sshArgv({ user: 'root', host: 'h' }, settings, 'x', true)).not.toContain('-n');
  });

  it("passes the user's own ssh_config with -F", () => {
    const argv = sshArgv(
      { user: 'root', host: 'h' },
      { ...settings, configFile: '/etc/phoenix/ssh' },
      'x',
      false,
    );
    expect(argv[argv.indexOf('-F') + 1]).toBe('/etc/phoenix/ssh');
  });
});

describe("ssh's own failures", () => {
  it("are recognised from exit 255 and ssh's words", () => {
    expect(sshFailure(255, 'ssh: connect to host pve1 port 22: Connection refused\n')).toBe(
      'ssh: connect to host pve1 port 22: Connection refused',
    );
    expect(
      sshFailure(
        255,
        'No ED25519 host key is known for pve1 and you have requested strict checking.\nHost key verification failed.\n',
      ),
    ).toMatch(/Host key verification failed/);
    expect(sshFailure(255, 'root@pve1: Permission denied (publickey).\n')).toMatch(/Permission denied/);
    expect(sshFailure(255, 'kex_exchange_identification: read: Connection reset by peer\n')).toMatch(
      /kex_exchange/,
    );
  });

  it('are not confused with Proxmox dying with exit 255', () => {
    expect(
      sshFailure(255, "can't lock file '/run/lock/lxc/pve-config-101.lock' - got timeout\n"),
    ).toBeUndefined();
    expect(sshFailure(255, "Configuration file 'nodes/pve/lxc/101.conf' does not exist\n")).toBeUndefined();
    expect(sshFailure(2, 'ssh: connect to host pve1 port 22: Connection refused\n')).toBeUndefined();
  });
});

describe('the remote command line', () => {
  it('comes back as the same words from a POSIX shell', () => {
    const words = [
      'printf',
      '%s\\n',
      'a b',
      "it's",
      '$HOME',
      '`id`',
      'x\ny',
      '',
      '*',
      '~',
      '!x',
      '#c',
      '{a,b}',
      '-rf',
    ];
    const r = spawnSync('sh', ['-c', `${remoteCommandLine(words)}`], { encoding: 'utf8' });
    expect(r.stdout).toBe(`${words.slice(2).join('\n')}\n`);
  });
});

describe('pct exec environment', () => {
  it('runs pct exec with --keep-env 0, before the command', () => {
    expect(guestCleanEnv('pct', ['exec', '101', '--', 'bash', 'x.sh'])).toEqual([
      'exec',
      '101',
      '--keep-env',
      '0',
      '--',
      'bash',
      'x.sh',
    ]);
  });

  it('leaves other commands, and an explicit keep-env, alone', () => {
    expect(guestCleanEnv('pct', ['start', '101'])).toEqual(['start', '101']);
    expect(guestCleanEnv('qm', ['guest', 'exec', '101', '--', 'x'])).toEqual([
      'guest',
      'exec',
      '101',
      '--',
      'x',
    ]);
    expect(guestCleanEnv('pct', ['exec', '101', '--keep-env', '1', '--', 'env'])).toEqual([
      'exec',
      '101',
      '--keep-env',
      '1',
      '--',
      'env',
    ]);
    // `--keep-env` after `--` is the guest command's own argument.
    expect(guestCleanEnv('pct', ['exec', '101', '--', 'x', '--keep-env'])).toEqual([
      'exec',
      '101',
      '--keep-env',
      '0',
      '--',
      'x',
      '--keep-env',
    ]);
  });
});

describe('local commands', () => {
  it('get a closed stdin when there is no input, so a reader ends at once', async () => {
    const r = await new LocalRunner('local', '/').run('sh', ['-c', 'cat; echo done']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'done\n' });
  });

  it('still get their input when there is some', async () => {
    const r = await new LocalRunner('local', '/').run('cat', [], { input: 'in\n' });
    expect(r.stdout).toBe('in\n');
  });
});

describe('staged files', () => {
  it('are named by content, keeping the base name', () => {
    const a = stagedPath('/p/features/setup.sh', 'echo a\n');
    expect(a).toMatch(/^\/var\/tmp\/phoenix\/[0-9a-f]{16}-setup\.sh$/);
    expect(stagedPath('/q/setup.sh', 'echo a\n')).toBe(a);
    expect(stagedPath('/p/features/setup.sh', 'echo b\n')).not.toBe(a);
  });
});

describe('control socket folder', () => {
  it('is private to the user', () => {
    const r = controlDir(tempDir('phoenix-xdg-'));
    expect(r.ok).toBe(true);
    if (r.ok) expect(statSync(r.value).mode & 0o777).toBe(0o700);
  });

  it('is refused when others can write it', () => {
    const base = tempDir('phoenix-xdg-');
    mkdirSync(path.join(base, 'phoenix'));
    chmodSync(path.join(base, 'phoenix'), 0o777);
    const r = controlDir(base);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/mode 0700/);
  });
});
