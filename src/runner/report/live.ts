// The live terminal display as pure functions: a state folded from build events, and a renderer
// from that state and a terminal size to lines. Whatever the plan's size, the frame fits the
// terminal: one header line, failures pinned, what runs now (collapsed per guest when there is
// not room for a line each), and the last few finished steps with their times.
import type { BuildEvent } from '../events.js';
import type { Effect } from '../types.js';

/** A planned step as the display needs it: its dependencies among the plan and its expected time. */
export interface LiveStep {
  target: string;
  guest: number;
  deps: string[];
  estimateMs: number;
}

interface Running {
  target: string;
  guest: number;
  action: Effect;
  startedAt: number;
  etaMs?: number;
  output?: string;
}

export type Outcome = 'done' | 'unchanged' | 'fresh' | 'blocked' | 'failed' | 'stopped';

interface Finished {
  target: string;
  outcome: Outcome;
  ms?: number;
  detail?: string;
}

export interface LiveState {
  /** Planned steps in dependency order. */
  steps: LiveStep[];
  jobs: number;
  running: Map<string, Running>;
  /** Every finished planned step, oldest first. */
  finished: Finished[];
  interrupted: boolean;
}

export interface TermSize {
  rows: number;
  cols: number;
}

export function liveState(steps: LiveStep[], jobs: number): LiveState {
  return { steps, jobs, running: new Map(), finished: [], interrupted: false };
}

/** Folds one event into the state (in place: the display keeps one state per build). */
export function applyEvent(s: LiveState, e: BuildEvent, now: number): void {
  const planned = (id: string) => s.steps.some((x) => x.target === id);
  const finish = (target: string, outcome: Outcome, ms?: number, detail?: string) => {
    if (!planned(target) || s.finished.some((f) => f.target === target)) return;
    s.running.delete(target);
    s.finished.push({
      target,
      outcome,
      ...(ms !== undefined ? { ms } : {}),
      ...(detail !== undefined ? { detail } : {}),
    });
  };
  switch (e.type) {
    case 'start':
      if (!planned(e.target)) break;
      s.running.set(e.target, {
        target: e.target,
        guest: e.guest,
        action: e.action,
        startedAt: now,
        ...(e.etaMs !== undefined ? { etaMs: e.etaMs } : {}),
      });
      break;
    case 'output': {
      const r = s.running.get(e.target);
      if (r) r.output = e.line;
      break;
    }
    case 'retry': {
      const r = s.running.get(e.target);
      if (r) r.output = `retrying in ${Math.round(e.delayMs / 1000)}s: ${e.error}`;
      break;
    }
    case 'done':
      finish(e.target, e.changed ? 'done' : 'unchanged', e.ms);
      break;
    case 'fresh':
      finish(e.target, 'fresh');
      break;
    case 'blocked':
      finish(e.target, 'blocked', undefined, e.because);
      break;
    case 'fail':
      finish(e.target, 'failed', e.ms, e.error);
      break;
    case 'stopped':
      finish(e.target, 'stopped', e.ms);
      break;
    case 'interrupt':
      s.interrupted = true;
      break;
    default:
      break;
  }
}

/**
 * Time left: the longer of the critical path through the unfinished steps and their total work
 * spread over the `-j` slots, each step taking its measured duration (minus what a running step
 * has already spent). Undefined once nothing is left, or when interrupted (nothing new starts).
 */
export function etaMs(s: LiveState, now: number): number | undefined {
  const done = new Set(s.finished.map((f) => f.target));
  const left = s.steps.filter((x) => !done.has(x.target));
  if (!left.length) return undefined;
  const remaining = (x: LiveStep) => {
    const r = s.running.get(x.target);
    return r ? Math.max(0, (r.etaMs ?? x.estimateMs) - (now - r.startedAt)) : x.estimateMs;
  };
  if (s.interrupted) return Math.max(0, ...left.filter((x) => s.running.has(x.target)).map(remaining));
  const endAt = new Map<string, number>();
  let path = 0;
  let work = 0;
  for (const x of left) {
    const own = remaining(x);
    work += own;
    const end = own + Math.max(0, ...x.deps.map((d) => endAt.get(d) ?? 0));
    endAt.set(x.target, end);
    path = Math.max(path, end);
  }
  return Math.max(path, work / Math.max(1, s.jobs));
}

/** `2:10`, `1:02:03`. */
export function clock(ms: number): string {
  const t = Math.round(ms / 1000);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

const secs = (ms: number) => `${Math.round(ms / 1000)}s`;

export function headerLine(s: LiveState, now: number): string {
  const failed = s.finished.filter((f) => f.outcome === 'failed').length;
  const parts = [`${s.running.size} running`];
  if (failed) parts.push(`${failed} failed`);
  const eta = etaMs(s, now);
  if (s.interrupted)
    parts.push(s.running.size ? 'stopping: no new steps (Ctrl-C again to abort)' : 'stopping');
  else if (eta !== undefined) parts.push(`ETA ${clock(eta)}`);
  return `[${s.finished.length}/${s.steps.length}] ${parts.join(' · ')}`;
}

const MARK: Record<Outcome, string> = {
  done: '✔',
  unchanged: '✔',
  fresh: '·',
  blocked: '↷',
  failed: '✖',
  stopped: '◼',
};

function finishedLine(f: Finished): string {
  switch (f.outcome) {
    case 'done':
      return `${MARK.done} ${f.target} ${secs(f.ms ?? 0)}`;
    case 'unchanged':
      return `${MARK.unchanged} ${f.target} ${secs(f.ms ?? 0)} (no change)`;
    case 'fresh':
      return `${MARK.fresh} ${f.target} fresh (a dependency made it so)`;
    case 'blocked':
      return `${MARK.blocked} ${f.target} blocked by ${f.detail}`;
    case 'failed':
      return `${MARK.failed} ${f.target} failed after ${secs(f.ms ?? 0)}: ${firstLine(f.detail ?? '')}`;
    case 'stopped':
      return `${MARK.stopped} ${f.target} stopped after ${secs(f.ms ?? 0)} (interrupted)`;
  }
}

const firstLine = (t: string) => t.split('\n')[0] ?? '';

function runningLine(r: Running, now: number, spin: string): string {
  const elapsed = now - r.startedAt;
  const time = r.etaMs ? `${secs(elapsed)} / ~${secs(r.etaMs)}` : secs(elapsed);
  return `${spin} ${r.target} [${r.action}] ${time}${r.output ? `  ${r.output}` : ''}`;
}

/** Per guest: `⠋ 103: config 12s, feature:docker 3s`. */
function guestLines(running: Running[], now: number, spin: string): string[] {
  const byGuest = new Map<number, Running[]>();
  for (const r of running) byGuest.set(r.guest, [...(byGuest.get(r.guest) ?? []), r]);
  return [...byGuest.values()].map(
    (rs) =>
      `${spin} ${rs[0]!.target.split(':')[0]}: ${rs.map((r) => `${r.target.slice(r.target.indexOf(':') + 1)} ${secs(now - r.startedAt)}`).join(', ')}`,
  );
}

/** Clips to `n` lines, the last one saying how many more there are. */
function clip(lines: string[], n: number, more: (k: number) => string): string[] {
  if (lines.length <= n) return lines;
  if (n <= 0) return [];
  return [...lines.slice(0, n - 1), more(lines.length - n + 1)];
}

function clipWidth(line: string, cols: number): string {
  const chars = [...line];
  return chars.length <= cols ? line : `${chars.slice(0, Math.max(0, cols - 1)).join('')}…`;
}

/**
 * One frame: never more than `rows - 1` lines (the cursor's line stays free, so nothing scrolls)
 * nor wider than `cols`. Room goes first to the header, then failures (up to a third), then the
 * running steps, then the last few finished.
 */
export function renderLive(s: LiveState, size: TermSize, now: number): string[] {
  const budget = Math.max(1, size.rows - 1);
  const spin = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[Math.floor(now / 100) % 10]!;
  const out = [headerLine(s, now)];
  let room = budget - 1;

  const failures = s.finished.filter((f) => f.outcome === 'failed').map(finishedLine);
  const failShown = clip(
    failures,
    Math.min(room, Math.max(1, Math.floor(budget / 3))),
    (k) => `${MARK.failed} ${k} more failed (listed at the end)`,
  );
  out.push(...failShown);
  room -= failShown.length;

  const running = [...s.running.values()];
  // Keep a line or two for what just finished when there is room to spare.
  const recentWanted = Math.min(5, s.finished.length - failures.length);
  const forRunning = Math.max(0, room - Math.min(recentWanted, Math.max(0, room - running.length)));
  let runLines = running.map((r) => runningLine(r, now, spin));
  const collapsed = runLines.length > forRunning;
  if (collapsed) runLines = guestLines(running, now, spin);
  const runShown = clip(
    runLines,
    forRunning,
    (k) => `${spin} … and ${k} more${collapsed ? ` guest${k === 1 ? '' : 's'}` : ''} running`,
  );
  room -= runShown.length;

  const recent = s.finished
    .filter((f) => f.outcome !== 'failed')
    .slice(-Math.max(0, Math.min(5, room)))
    .map(finishedLine);
  out.push(...(room > 0 ? recent : []), ...runShown);
  return out.map((l) => clipWidth(l, Math.max(1, size.cols)));
}
