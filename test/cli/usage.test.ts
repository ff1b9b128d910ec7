// A command line phoenix cannot make sense of: one line naming the mistake, commander's
// suggestion, exit 2 — not the whole help.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../engine/helpers.js';

const phoenix = (args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'bin', 'phoenix.js'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
  });

describe('usage errors', () => {
  it.each([
    [['biuld'], "phoenix: unknown command 'biuld' (did you mean build?)"],
    [['build', '--simm'], "phoenix: unknown option '--simm' (did you mean --sim?)"],
    [['status', '--jsn'], "phoenix: unknown option '--jsn' (did you mean --json?)"],
  ])('%j exits 2 with one line and a suggestion', (args, line) => {
    const r = phoenix(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.stdout).toBe('');
  });

  it('a bare `phoenix` exits 2 with one line saying what to try', () => {
    const r = phoenix([]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('phoenix --help');
  });

  it('--help still prints the help and exits 0', () => {
    const r = phoenix(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: phoenix');
  });
});
