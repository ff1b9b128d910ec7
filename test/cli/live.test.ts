// The live build display as a pure function of the events so far and the terminal's size.
import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../src/runner/events.js';
import {
  applyEvent,
  etaMs,
  headerLine,
  type LiveState,
  type LiveStep,
  liveState,
  renderLive,
} from '../../src/runner/report/live.js';

/** A fleet like the real one: `guests` guests of `per` steps each, each step after the previous. */
function fleet(guests: number, per: number, ms = 10_000): LiveStep[] {
  const steps: LiveStep[] = [];
  for (let g = 0; g < guests; g++)
    for (let i = 0; i < per; i++)
      steps.push({
        target: `lxc/${100 + g}:step${i}`,
        guest: 100 + g,
        deps: i ? [`lxc/${100 + g}:step${i - 1}`] : [],
        estimateMs: ms,
      });
  return steps;
}

const start = (s: LiveStep): BuildEvent => ({
  type: 'start',
  target: s.target,
  guest: s.guest,
  action: 'update',
  step: 'pct set',
  reasons: [],
});
const done = (s: LiveStep, ms: number): BuildEvent => ({
  type: 'done',
  target: s.target,
  guest: s.guest,
  changed: true,
  ms,
});

function play(state: LiveState, events: BuildEvent[], now = 0): LiveState {
  for (const e of events) applyEvent(state, e, now);
  return state;
}

describe('the live display', () => {
  it('fits any terminal height and width, header first', () => {
    const steps = fleet(47, 3);
    const s = liveState(steps, 8);
    play(s, [...steps.slice(0, 30).map(start), ...steps.slice(0, 20).map((x) => done(x, 4000))]);
    for (const rows of [1, 2, 3, 5, 10, 40, 200]) {
      for (const cols of [10, 40, 120]) {
        const lines = renderLive(s, { rows, cols }, 1000);
        expect(lines.length).toBeLessThanOrEqual(Math.max(1, rows - 1));
        expect(lines.length).toBeGreaterThanOrEqual(1);
        for (const l of lines) expect([...l].length).toBeLessThanOrEqual(cols);
        expect(lines[0]).toMatch(/^\[20\/141\]/);
      }
    }
  });

  it('shows one header with done/total, running, failed and an ETA', () => {
    const steps = fleet(47, 3);
    const s = liveState(steps, 4);
    play(s, [
      ...steps.slice(0, 37).map(start),
      ...steps.slice(0, 36).map((x) => done(x, 1000)),
      {
        type: 'fail',
        target: steps[36]!.target,
        guest: steps[36]!.guest,
        error: 'boom',
        reason: 'task-failed',
        stderrTail: '',
        ms: 5000,
      },
      start(steps[37]!),
      start(steps[38]!),
    ]);
    expect(headerLine(s, 0)).toMatch(/^\[37\/141\] 2 running · 1 failed · ETA \d+:\d\d$/);
  });

  it('shows running steps, not the ones waiting, and the last few finished with their times', () => {
    const steps = fleet(3, 4);
    const s = liveState(steps, 4);
    play(s, [start(steps[0]!), done(steps[0]!, 12_000), start(steps[1]!), start(steps[4]!)], 0);
    const text = renderLive(s, { rows: 40, cols: 120 }, 3000).join('\n');
    expect(text).toContain('✔ lxc/100:step0 12s');
    expect(text).toMatch(/lxc\/100:step1 \[update\] 3s/);
    expect(text).toMatch(/lxc\/101:step0 \[update\] 3s/);
    expect(text).not.toContain('lxc/102');
    expect(text).not.toMatch(/waiting/);
  });

  it('keeps failures pinned, with the failed step’s time, however many steps finish after them', () => {
    const steps = fleet(30, 3);
    const s = liveState(steps, 4);
    play(s, [
      start(steps[0]!),
      {
        type: 'fail',
        target: steps[0]!.target,
        guest: 100,
        error: 'pct set 100 failed (exit 2)',
        reason: 'task-failed',
        stderrTail: '',
        ms: 7000,
      },
      ...steps.slice(3, 60).flatMap((x) => [start(x), done(x, 1000)]),
    ]);
    const lines = renderLive(s, { rows: 12, cols: 120 }, 0);
    expect(lines[1]).toBe('✖ lxc/100:step0 failed after 7s: pct set 100 failed (exit 2)');
  });

  it('collapses running steps per guest when a line each does not fit', () => {
    const steps: LiveStep[] = [];
    for (let g = 0; g < 4; g++)
      for (let i = 0; i < 6; i++)
        steps.push({ target: `lxc/${100 + g}:feature:f${i}`, guest: 100 + g, deps: [], estimateMs: 1000 });
    const s = liveState(steps, 24);
    play(s, steps.map(start));
    const lines = renderLive(s, { rows: 8, cols: 200 }, 2000);
    expect(lines.length).toBeLessThanOrEqual(7);
    const guestLines = lines.filter((l) => /lxc\/10\d: /.test(l));
    expect(guestLines).toHaveLength(4);
    expect(guestLines[0]).toContain('feature:f0 2s, feature:f1 2s');
    // A terminal too small even for one line per guest says how many more run.
    const tiny = renderLive(s, { rows: 4, cols: 200 }, 2000);
    expect(tiny.at(-1)).toBe('⠋ … and 3 more guests running');
  });

  it('names a skipped step once', () => {
    const steps = fleet(2, 2);
    const s = liveState(steps, 2);
    play(s, [
      { type: 'fresh', target: steps[0]!.target, guest: 100 },
      { type: 'blocked', target: steps[3]!.target, guest: 101, because: 'lxc/101:step0' },
    ]);
    const lines = renderLive(s, { rows: 10, cols: 120 }, 0);
    for (const l of lines.slice(1))
      expect(l.split('lxc/100:step0').length + l.split('lxc/101:step1').length).toBeLessThanOrEqual(3);
    expect(lines).toContain('↷ lxc/101:step1 blocked by lxc/101:step0');
  });

  it('draws steps that finished before a Ctrl-C as done, and says it is stopping', () => {
    const steps = fleet(1, 3);
    const s = liveState(steps, 2);
    play(s, [start(steps[0]!), { type: 'interrupt', message: 'Ctrl-C' }, done(steps[0]!, 2000)]);
    const lines = renderLive(s, { rows: 10, cols: 120 }, 0);
    expect(lines).toContain('✔ lxc/100:step0 2s');
    expect(lines.join('\n')).not.toContain('✖');
    expect(lines[0]).toMatch(/^\[1\/3\] 0 running · stopping$/);
  });
});

describe('the ETA', () => {
  it('follows the critical path over measured durations', () => {
    // One chain of 3 × 10 s and 6 independent 1 s steps: with 4 slots the chain decides.
    const steps: LiveStep[] = [
      ...fleet(1, 3, 10_000),
      ...Array.from({ length: 6 }, (_, i) => ({
        target: `lxc/200:x${i}`,
        guest: 200,
        deps: [],
        estimateMs: 1000,
      })),
    ];
    const s = liveState(steps, 4);
    expect(etaMs(s, 0)).toBe(30_000);
    // The first chain step has run 4 s of its 10.
    applyEvent(s, start(steps[0]!), 0);
    expect(etaMs(s, 4000)).toBe(26_000);
    applyEvent(s, done(steps[0]!, 10_000), 10_000);
    expect(etaMs(s, 10_000)).toBe(20_000);
  });

  it('is bounded by the total work spread over the -j slots', () => {
    const steps = Array.from({ length: 8 }, (_, i) => ({
      target: `lxc/300:x${i}`,
      guest: 300,
      deps: [],
      estimateMs: 10_000,
    }));
    expect(etaMs(liveState(steps, 2), 0)).toBe(40_000);
    expect(headerLine(liveState(steps, 2), 0)).toBe('[0/8] 0 running · ETA 0:40');
  });
});
