// The simulated host's file tools (bin/sim/mkdir, stat, chown): GNU options, messages and exit
// codes, acting on the state folder; owners recorded by chown and read back by stat.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSims, makeSim } from './helpers.js';

afterAll(cleanupSims);

const BASE = '/mnt/pve/quickOS/lxc-persistent-data';

describe('mkdir', () => {
  it('creates folders under the state folder, never on the machine running it', () => {
    const sim = makeSim();
    const r = sim.run('mkdir', ['-p', '--', `${BASE}/101/logs`, `${BASE}/101/ssl`]);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(existsSync(join(sim.root, BASE, '101/logs'))).toBe(true);
    expect(existsSync(join(sim.root, BASE, '101/ssl'))).toBe(true);
    expect(existsSync(`${BASE}/101`)).toBe(false);
    // `..` cannot climb out of the fake root.
    expect(sim.run('mkdir', ['-p', '../../../../tmp/phoenix-escape']).code).toBe(0);
    expect(existsSync(join(sim.root, 'tmp/phoenix-escape'))).toBe(true);
    expect(sim.calls().map((c) => [c.cmd, c.exit])).toEqual([
      ['mkdir', 0],
      ['mkdir', 0],
    ]);
  });

  it('fails like GNU mkdir: missing parent or existing folder without -p, exit 1, other operands still made', () => {
    const sim = makeSim();
    expect(sim.run('mkdir', ['-p', `${BASE}/101`]).code).toBe(0);
    const r = sim.run('mkdir', ['--', `${BASE}/101`, `${BASE}/102/logs`, `${BASE}/103`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `mkdir: cannot create directory '${BASE}/101': File exists\n` +
        `mkdir: cannot create directory '${BASE}/102/logs': No such file or directory\n`,
    );
    expect(existsSync(join(sim.root, BASE, '103'))).toBe(true);
    expect(sim.run('mkdir', ['-p', `${BASE}/101`]).code).toBe(0);
    expect(sim.run('mkdir', ['-v', `${BASE}/104`]).stdout).toBe(`mkdir: created directory '${BASE}/104'\n`);
    expect(sim.run('mkdir', [])).toMatchObject({
      code: 1,
      stderr: "mkdir: missing operand\nTry 'mkdir --help' for more information.\n",
    });
    expect(sim.run('mkdir', ['-x', '/a'])).toMatchObject({
      code: 1,
      stderr: "mkdir: invalid option -- 'x'\nTry 'mkdir --help' for more information.\n",
    });
  });
});

describe('stat', () => {
  it('prints %u:%g %n per path from the owners chown recorded (0:0 otherwise), and goes on past missing ones', () => {
    const sim = makeSim();
    expect(sim.run('mkdir', ['-p', '--', `${BASE}/101/logs`, `${BASE}/101/ssl`]).code).toBe(0);
    expect(sim.run('chown', ['100033:33', '--', `${BASE}/101/logs`]).code).toBe(0);
    const r = sim.run('stat', [
      '-c',
      '%u:%g %n',
      '--',
      `${BASE}/101/logs`,
      `${BASE}/101/missing`,
      `${BASE}/101/ssl`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`100033:33 ${BASE}/101/logs\n0:0 ${BASE}/101/ssl\n`);
    expect(r.stderr).toBe(`stat: cannot statx '${BASE}/101/missing': No such file or directory\n`);
    const names = sim.run('stat', ['--format=%U:%G|%F|%N|%%|%j', `${BASE}/101/logs`, `${BASE}/101/ssl`]);
    expect(names).toMatchObject({
      code: 0,
      stdout: `UNKNOWN:www-data|directory|'${BASE}/101/logs'|%|?\nroot:root|directory|'${BASE}/101/ssl'|%|?\n`,
    });
    expect(sim.run('stat', ['--printf=%u\\t%n\\n', `${BASE}/101/logs`]).stdout).toBe(
      `100033\t${BASE}/101/logs\n`,
    );
    expect(sim.run('stat', ['-c'])).toMatchObject({
      code: 1,
      stderr: "stat: option requires an argument -- 'c'\nTry 'stat --help' for more information.\n",
    });
  });

  it('follows chown semantics: -R reaches what exists, a later folder is root-owned, names resolve', () => {
    const sim = makeSim();
    expect(sim.run('mkdir', ['-p', `${BASE}/200/a/b`]).code).toBe(0);
    expect(sim.run('chown', ['-R', 'www-data:www-data', `${BASE}/200`]).code).toBe(0);
    expect(sim.run('mkdir', [`${BASE}/200/later`]).code).toBe(0);
    expect(sim.run('chown', ['1000', `${BASE}/200/a`]).code).toBe(0);
    const r = sim.run('stat', [
      '-c',
      '%u:%g %n',
      `${BASE}/200`,
      `${BASE}/200/a`,
      `${BASE}/200/a/b`,
      `${BASE}/200/later`,
    ]);
    expect(r.stdout).toBe(
      `33:33 ${BASE}/200\n1000:33 ${BASE}/200/a\n33:33 ${BASE}/200/a/b\n0:0 ${BASE}/200/later\n`,
    );
    const owners = JSON.parse(readFileSync(join(sim.root, 'sim/owners.json'), 'utf8'));
    expect(owners[`${BASE}/200`]).toEqual({ user: 'www-data', group: 'www-data', recursive: true });
    expect(sim.run('chown', ['postgres:postgres', `${BASE}/200`])).toMatchObject({
      code: 1,
      stderr: "chown: invalid user: 'postgres:postgres'\n",
    });
    expect(sim.run('chown', ['root:nosuchgroup', `${BASE}/200`])).toMatchObject({
      code: 1,
      stderr: "chown: invalid group: 'root:nosuchgroup'\n",
    });
  });
});
