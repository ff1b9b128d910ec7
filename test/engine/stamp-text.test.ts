// What a build says (plan lines, step output, failures, problems) never carries Phoenix's stamp
// block: it is bookkeeping kept in the guest's description, long and meaningless in an error.
// Each build below fails one kind of Proxmox call on a built host while every step is redone.
import { describe, expect, it } from 'vitest';
import { STAMP_BEGIN, STAMP_END } from '../../src/runner/stamps.js';
import { project } from './helpers.js';

const FAULTS: Array<{ rule: string; allowReplace?: boolean }> = [
  // `pct set` of 103: with every step redone and nothing drifted, the stamp write.
  { rule: 'cmd=pct:op=set:vmid=103' },
  { rule: 'cmd=pct:op=exec:vmid=103' },
  // Re-created: the clone carries its source's stamps in the description it is given.
  { rule: 'cmd=pct:op=clone:vmid=104', allowReplace: true },
];

describe('stamps stay out of what a build says', { timeout: 300_000 }, () => {
  it('no plan line, output line, failure or problem of a failing build shows the stamp block', async () => {
    const p = project('small');
    await p.seed();
    for (const { rule, allowReplace } of FAULTS) {
      const run = await p.inproc({ PHOENIX_SIM_FAULTS: rule });
      const b = await run.build([], {
        alwaysMake: true,
        keepGoing: true,
        ...(allowReplace ? { allowReplace } : {}),
      });
      const text = [JSON.stringify(b.events), ...b.problems, ...b.said].join('\n');
      expect(b.ok, rule).toBe(false);
      expect(text, rule).not.toContain(STAMP_BEGIN);
      expect(text, rule).not.toContain(STAMP_END);
      // Put right before the next fault.
      await p.seed();
    }
  });
});
