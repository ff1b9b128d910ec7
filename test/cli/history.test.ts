// Step durations are kept per host and left out for simulator runs at speed 0; the event log stays bounded.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { History } from '../../src/runner/history.js';
import { tempDir } from '../engine/helpers.js';

describe('duration history', () => {
  it('keeps each host’s durations apart', () => {
    const dir = tempDir('phoenix-history-');
    const a = new History(dir, { host: 'ssh:root@pve1' });
    a.record('lxc/103:config', 4000);
    a.save();
    const b = new History(dir, { host: 'sim x0.1' });
    b.record('lxc/103:config', 400);
    b.save();
    expect(new History(dir, { host: 'ssh:root@pve1' }).estimate('lxc/103:config')).toBe(4000);
    expect(new History(dir, { host: 'sim x0.1' }).estimate('lxc/103:config')).toBe(400);
    expect(new History(dir, { host: 'ssh:root@pve2' }).known('lxc/103:config')).toBe(false);
  });

  it('records nothing from a run whose times mean nothing (simulator speed 0)', () => {
    const dir = tempDir('phoenix-history-');
    const h = new History(dir, { host: 'sim x0', record: false });
    h.record('lxc/103:config', 3);
    h.save();
    expect(new History(dir, { host: 'sim x0' }).known('lxc/103:config')).toBe(false);
  });

  it('rotates the event log past its size limit, keeping one older file', () => {
    const dir = tempDir('phoenix-history-');
    const big = { type: 'note', message: 'x'.repeat(1000) } as const;
    for (let run = 0; run < 5; run++) {
      const h = new History(dir, { maxLogBytes: 20_000 });
      for (let i = 0; i < 30; i++) h.append(`run${run}`, big);
      h.save();
    }
    const log = path.join(dir, 'events.jsonl');
    expect(statSync(log).size).toBeLessThanOrEqual(20_000 + 31 * 1100);
    expect(existsSync(path.join(dir, 'events.1.jsonl'))).toBe(true);
    expect(readFileSync(log, 'utf8')).toContain('"run":"run4"');
  });
});
