// The regression guard's comparison and the in-process trace the bound is computed from.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper without types
import { writeFleet } from '../../bench/fleet-gen.mjs';
// @ts-expect-error plain ESM helper without types
import { durationsFromTrace, makespanBound } from '../../bench/lib/bound.mjs';
// @ts-expect-error plain ESM helper without types
import { inprocBuild } from '../../bench/lib/inproc.mjs';
// @ts-expect-error plain ESM helper without types
import { compareResults } from '../../bench/lib/report.mjs';

describe('compareResults', () => {
  const base = {
    metrics: {
      'noop.10.speed0.wallMs': { value: 1000, unit: 'ms' },
      'noop.10.speed0.hostCalls': { value: 6, unit: 'calls' },
      'load.10.warmMs': { value: 30, unit: 'ms' },
      'full.top.makespanS': { value: 200, unit: 's' },
    },
  };
  it('fails a figure more than 25 % worse, ignores small ms noise and unmeasured figures', () => {
    const now = {
      metrics: {
        'noop.10.speed0.wallMs': { value: 1200, unit: 'ms' },
        'noop.10.speed0.hostCalls': { value: 8, unit: 'calls' },
        'load.10.warmMs': { value: 60, unit: 'ms' },
      },
    };
    const r = compareResults(base, now, 0.25);
    expect(r.worse).toEqual(['noop.10.speed0.hostCalls']);
    expect(r.lines.join('\n')).toContain('skip  full.top.makespanS');
  });
});

describe('in-process trace', () => {
  it('builds a generated fleet and charges every host call from the latency model', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-trace-'));
    const env = { ...process.env };
    try {
      const file = writeFleet(10, dir);
      const r = await inprocBuild({ configFile: file, simRoot: path.join(dir, 'sim'), jobs: 1, trace: true });
      expect(r.built.length).toBeGreaterThan(40);
      const create = r.trace.find(
        (c: { cmd: string; args: string[] }) => c.cmd === 'pct' && c.args[0] === 'create',
      );
      expect(create.target).toBe('lxc/10000:exists');
      expect(create.charged).toBeGreaterThanOrEqual(20.6); // process start 0.6 + pct create 20
      const { durations, read } = durationsFromTrace(r.targets, r.trace, { agentBoot: 25 });
      const b = makespanBound({ targets: r.targets, guests: r.guests, durations, read, jobs: 4 });
      expect(b.bound).toBeGreaterThan(b.read + 20.6);
      expect(b.bound).toBeLessThanOrEqual(b.serial);
    } finally {
      process.env = env;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
