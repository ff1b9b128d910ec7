// A host file written and a command run in one host call (births' records, firewall files): the
// file exists before the command starts, no command runs when the file cannot be written, and the
// command's exit code is the call's. Real `sh`, real files.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unwrapWriteThen, writeThen } from '../../src/pve/write-then.js';

const run = ([cmd, args]: [string, string[]]) => spawnSync(cmd, args, { encoding: 'utf8' });

describe('writeThen', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'phoenix-write-then-'));
  const mapPath = (p: string) => path.join(root, p);

  it('writes the file (creating its folder) before the command runs, leaving no temporary file', () => {
    const text = '{"vmid":103,"op":"clone"}\n';
    const r = run(
      writeThen('/var/lib/phoenix/births/103.json', text, mapPath, 'cat', [
        mapPath('/var/lib/phoenix/births/103.json'),
      ]),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(text);
    expect(readdirSync(mapPath('/var/lib/phoenix/births'))).toEqual(['103.json']);
  });

  it('runs no command when the file cannot be written, and says which file', () => {
    const marker = mapPath('ran');
    const blocked = mapPath('file-not-folder');
    run(writeThen('/file-not-folder', 'x', mapPath, 'true', []));
    const r = run(writeThen('/file-not-folder/sub/1.json', 'x', mapPath, 'touch', [marker]));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot write ${blocked}/sub/1.json`);
    expect(existsSync(marker)).toBe(false);
  });

  it("gives the command's exit code and output as the call's own", () => {
    const r = run(
      writeThen('/x/a.fw', '[OPTIONS]\n', mapPath, 'sh', ['-c', 'echo out; echo err >&2; exit 7']),
    );
    expect([r.status, r.stdout, r.stderr]).toEqual([7, 'out\n', 'err\n']);
    expect(readFileSync(mapPath('/x/a.fw'), 'utf8')).toBe('[OPTIONS]\n');
  });

  it('is recognised by a runner that serves the command itself, and nothing else is', () => {
    const [cmd, args] = writeThen('/etc/pve/firewall/7.fw', 'text', (p) => `/sim${p}`, 'pct', ['set', '7']);
    expect(unwrapWriteThen(cmd, args)).toEqual({
      dir: '/sim/etc/pve/firewall',
      file: '7.fw',
      text: 'text',
      cmd: 'pct',
      args: ['set', '7'],
    });
    expect(unwrapWriteThen('sh', ['-c', 'echo hi', 'phoenix-write', 'a', 'b', 'c', 'pct'])).toBeUndefined();
  });
});
