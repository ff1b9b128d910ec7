// The one file read of a state read, run with the real `sh`, `grep` and `stat` of this machine
// on a folder laid out like a host: what it prints is split back into configs, subordinate ids
// and folder owners, and missing folders are not errors.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileReadCommand, parseFileRead } from '../../src/pve/bulk-read.js';
import { LocalRunner } from '../../src/pve/runner.js';

const root = mkdtempSync(path.join(tmpdir(), 'phoenix-bulk-read-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const put = (p: string, text: string) => {
  mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
  writeFileSync(path.join(root, p), text);
};
put('/etc/pve/nodes/pve/lxc/103.conf', 'arch: amd64\nhostname: ca\n');
put('/etc/pve/nodes/pve/qemu-server/9000.conf', 'name: cloud\ntemplate: 1\n');
put('/etc/subuid', 'root:100000:65536\n');
put('/etc/subgid', 'root:100000:65536\n');
mkdirSync(path.join(root, 'srv/data'), { recursive: true });
// No /etc/pve/firewall and no births folder: a host where Phoenix never wrote either.

const runner = new LocalRunner('test', root);
const map = (p: string) => runner.mapPath(p);

describe('the file read of a state read', () => {
  it('is a plain grep when the config needs nothing beyond /etc/pve', () => {
    const [cmd, args] = fileReadCommand({}, map);
    expect(cmd).toBe('grep');
    expect(args.at(-3)).toBe(map('/etc/pve/nodes'));
  });

  it('reads configs, subordinate ids and folder owners in one command, missing folders being no error', async () => {
    const dirs = [path.join(root, 'srv/data'), path.join(root, 'srv/missing')];
    const needs = { idFiles: true, hostDirs: dirs };
    const [cmd, args] = fileReadCommand(needs, map);
    expect(cmd).toBe('sh');
    const out = await runner.run(cmd, args);
    const read = parseFileRead(out, needs, map);
    expect(read, out.stderr).toBeDefined();
    expect(read!.lines.filter((l) => l.includes('/lxc/103.conf:'))).toHaveLength(2);
    expect(read!.lines.some((l) => l.endsWith('/qemu-server/9000.conf:template: 1'))).toBe(true);
    expect(read!.subids).toEqual({ uid: 'root:100000:65536\n', gid: 'root:100000:65536\n' });
    expect([...read!.hostDirs!.keys()]).toEqual([dirs[0]]);
    expect(read!.hostDirs!.get(dirs[0]!)).toEqual({ uid: process.getuid?.(), gid: process.getgid?.() });
  });

  it('reads a missing id file as empty, and stats nothing when no folder is asked', async () => {
    rmSync(path.join(root, 'etc/subgid'));
    const needs = { idFiles: true, hostDirs: [] };
    const [cmd, args] = fileReadCommand(needs, map);
    const read = parseFileRead(await runner.run(cmd, args), needs, map);
    expect(read!.subids).toEqual({ uid: 'root:100000:65536\n', gid: '' });
    expect(read!.hostDirs).toBeUndefined();
  });

  it('fails when the command itself fails', () => {
    expect(parseFileRead({ exitCode: 127, stdout: '' }, {}, map)).toBeUndefined();
  });
});
