// Durations of earlier runs, for ETAs and critical-path-first ordering, and the event log.
// Kept on the operator's machine under `.phoenix/` (local knowledge, unlike stamps).
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildEvent } from './events.js';

/** `lxc/103:feature:docker` → `lxc:feature:docker`: the same work on another guest takes about as long. */
export function durationClass(targetId: string): string {
  const m = /^(lxc|vm)\/\d+:(.*)$/.exec(targetId);
  return m ? `${m[1]}:${m[2]}` : targetId;
}

// Rough first guesses (seconds) before any run was timed: the order of magnitude of a pct/qm task
// on a real host (a Perl start-up, then the storage work).
const DEFAULTS: Record<string, number> = {
  exists: 20,
  feature: 60,
  app: 60,
  template: 3,
  snapshot: 2,
  running: 3,
  agent: 20,
};

export class History {
  private durations: Record<string, number> = {};
  private readonly file: string;
  private readonly log: string;
  constructor(dir: string) {
    this.file = path.join(dir, 'durations.json');
    this.log = path.join(dir, 'events.jsonl');
    try {
      this.durations = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, number>;
    } catch {
      this.durations = {};
    }
    mkdirSync(dir, { recursive: true });
  }

  /** Expected duration in ms: this target's last run, else its class's, else a default by kind. */
  estimate(targetId: string): number {
    const own = this.durations[targetId] ?? this.durations[durationClass(targetId)];
    if (own !== undefined) return own;
    const kind = (/^(?:lxc|vm)\/\d+:([a-z]+)/.exec(targetId)?.[1] ?? '') as string;
    return (DEFAULTS[kind] ?? 1) * 1000;
  }

  known(targetId: string): boolean {
    return this.durations[targetId] !== undefined || this.durations[durationClass(targetId)] !== undefined;
  }

  record(targetId: string, ms: number): void {
    this.durations[targetId] = ms;
    this.durations[durationClass(targetId)] = ms;
  }

  append(runId: string, event: BuildEvent): void {
    try {
      appendFileSync(
        this.log,
        `${JSON.stringify({ run: runId, time: new Date().toISOString(), ...event })}\n`,
      );
    } catch {
      // The log is a convenience; a read-only checkout must not fail the build.
    }
  }

  save(): void {
    try {
      writeFileSync(this.file, `${JSON.stringify(this.durations, null, 1)}\n`);
    } catch {
      // Same as above.
    }
  }
}
