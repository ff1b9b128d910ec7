// The SSH runner's quoting through a real POSIX shell: a stand-in `ssh` on PATH runs the remote
// command line with `sh -c`, as sshd does with the login shell.
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshRunner } from '../../src/pve/runner.js';
import { tempDir } from './helpers.js';

describe('SshRunner', () => {
  const oldPath = process.env.PATH;
  let dir: string;
  beforeAll(() => {
    dir = tempDir('phoenix-ssh-');
    // ssh -o BatchMode=yes <dest> -- <command line>
    writeFileSync(path.join(dir, 'ssh'), '#!/bin/sh\nshift 3\n[ "$1" = -- ] && shift\nexec sh -c "$1"\n');
    chmodSync(path.join(dir, 'ssh'), 0o755);
    process.env.PATH = `${dir}${path.delimiter}${oldPath}`;
  });
  afterAll(() => {
    process.env.PATH = oldPath;
  });

  it('passes every argument through the remote shell unchanged', async () => {
    const r = new SshRunner('root@pve1');
    const words = ['a b', "it's", '$HOME', '`id`', 'x\ny', '', '--include=*.conf', 'name=eth0,ip=dhcp'];
    const out = await r.run('printf', ['%s|', ...words]);
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe(`${words.join('|')}|`);
    expect(r.calls.reads).toBe(1);
  });

  it('reads, writes and creates files exclusively on the remote side', async () => {
    const r = new SshRunner('root@pve1');
    const file = path.join(dir, 'sub', 'lock');
    expect(await r.readFile(file)).toBeUndefined();
    expect(await r.createExclusive(file, 'one\n')).toBe(true);
    expect(await r.createExclusive(file, 'two\n')).toBe(false);
    expect(await r.readFile(file)).toBe('one\n');
    await r.writeFile(file, "it's\n");
    expect(await r.readFile(file)).toBe("it's\n");
    await r.removeFile(file);
    expect(await r.readFile(file)).toBeUndefined();
  });
});
