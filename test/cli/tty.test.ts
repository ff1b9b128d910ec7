// The live display in a real pseudo-terminal (util-linux `script`) whose size changes mid-build:
// the frames drawn after the shrink fit the new size, and none is left behind for the summary.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { project, ROOT } from '../engine/helpers.js';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
// biome-ignore lint/suspicious/noControlCharactersInRegex: log-update's erase sequence.
const ERASE = /(?:\x1b\[2K(?:\x1b\[1A)?)+\x1b\[G/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes are what we strip.
const plain = (t: string) => t.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

it('redraws the live frame to fit a terminal that shrinks mid-build, and clears it before the summary', async () => {
  const p = project('small');
  const bin = [process.execPath, path.join(ROOT, 'bin', 'phoenix.js'), 'build', '--sim'].map(quote).join(' ');
  // The terminal shrinks once a wide frame is on screen (the test drops the flag file then).
  const flag = path.join(p.dir, 'shrink-now');
  const shrink = `while [ ! -e ${quote(flag)} ]; do sleep 0.1; done; echo RESIZED; stty rows 8 cols 50 </dev/tty`;
  const command = `stty rows 30 cols 120; (${shrink}) & ${bin}; wait`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: p.dir,
    env: { ...process.env, PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: '0.1', TERM: 'xterm-256color' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
    if (/\[create\] .{40}/.test(plain(out))) writeFileSync(flag, '');
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, plain(out)).toBe(0);

  const [before = '', after = ''] = out.split('RESIZED');
  const frameLines = (f: string) =>
    plain(f)
      .split('\n')
      .filter((l) => l !== '');
  // At most rows - 1 lines, none wider than the terminal, and the header line kept on top.
  const fits = (f: string) => {
    const lines = frameLines(f);
    return (
      lines.length <= 7 && /^\[\d+\/\d+\]/.test(lines[0] ?? '') && lines.every((l) => [...l].length <= 50)
    );
  };
  // Before the shrink the 120-column frames carry lines wider than 50 columns.
  expect(before.split(ERASE).some((f) => !fits(f))).toBe(true);
  const frames = after.split(ERASE);
  const summary = frames.pop() ?? '';
  // Frames already queued when the shrink came may be wide; the first one clipped at 50 columns
  // shows the display saw the new size, and from there on every frame fits.
  const first = frames.findIndex((f) => fits(f) && plain(f).includes('…'));
  expect(first, plain(after)).toBeGreaterThanOrEqual(0);
  expect(
    frames
      .slice(first)
      .filter((f) => !fits(f))
      .map(plain),
  ).toEqual([]);
  // The last erase took the frame away: what follows is the summary alone.
  expect(plain(summary)).toMatch(/^built: \d+, fresh: \d+, failed: 0, blocked: 0/);
}, 120_000);
