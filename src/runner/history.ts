// Durations of earlier runs, for ETAs and critical-path-first ordering, and the event log.
// Kept on the operator's machine under `.phoenix/` (local knowledge, unlike stamps).
// Durations are kept per host: a step takes as long as the host it runs on, and a simulator run
// at one speed says nothing about another, nor about a real node.
import { appendFileSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
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

/** The event log is rotated past this size (one older file is kept): ~2 MB at most on disk. */
export const EVENT_LOG_BYTES = 1024 * 1024;

export interface HistoryOptions {
  /** Whose durations these are: the host label (`local:pve1`, `ssh:root@pve1`, `sim x0.1`). */
  host?: string;
  /** False for runs whose times mean nothing (the simulator at speed 0): nothing is recorded. */
  record?: boolean;
  maxLogBytes?: number;
}

interface DurationsFile {
  version: 2;
  hosts: Record<string, Record<string, number>>;
}

export class History {
  private durations: Record<string, number> = {};
  private readonly file: string;
  private readonly log: string;
  private readonly host: string;
  private readonly recording: boolean;
  private readonly maxLogBytes: number;
  constructor(dir: string, opts: HistoryOptions = {}) {
    this.file = path.join(dir, 'durations.json');
    this.log = path.join(dir, 'events.jsonl');
    this.host = opts.host ?? 'default';
    this.recording = opts.record ?? true;
    this.maxLogBytes = opts.maxLogBytes ?? EVENT_LOG_BYTES;
    this.durations = { ...(this.readFile().hosts[this.host] ?? {}) };
    mkdirSync(dir, { recursive: true });
    this.rotate();
  }

  /** Expected duration in ms: this target's last run, else its class's, else a default by kind. */
  estimate(targetId: string): number {
    const own = this.durations[targetId] ?? this.durations[durationClass(targetId)];
    if (own !== undefined) return own;
    const kind = /^(?:lxc|vm)\/\d+:([a-z]+)/.exec(targetId)?.[1] ?? '';
    return (DEFAULTS[kind] ?? 1) * 1000;
  }

  known(targetId: string): boolean {
    return this.durations[targetId] !== undefined || this.durations[durationClass(targetId)] !== undefined;
  }

  record(targetId: string, ms: number): void {
    if (!this.recording) return;
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
    if (!this.recording) return;
    try {
      // Read again: another checkout's build may have saved another host's times meanwhile.
      const all = this.readFile();
      all.hosts[this.host] = this.durations;
      writeFileSync(this.file, `${JSON.stringify(all, null, 1)}\n`);
    } catch {
      // Same as above.
    }
  }

  private readFile(): DurationsFile {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<DurationsFile>;
      // The first format mixed every host and speed in one map: start afresh rather than trust it.
      if (parsed.version === 2 && parsed.hosts && typeof parsed.hosts === 'object')
        return { version: 2, hosts: parsed.hosts };
    } catch {
      // Missing or damaged: no history.
    }
    return { version: 2, hosts: {} };
  }

  /**
   * Keeps `events.jsonl` bounded: past the limit at the start of a build it becomes
   * `events.1.jsonl` (replacing the older one), so the current file always holds the last build whole.
   */
  private rotate(): void {
    try {
      if (statSync(this.log).size > this.maxLogBytes)
        renameSync(this.log, path.join(path.dirname(this.log), 'events.1.jsonl'));
    } catch {
      // No log yet.
    }
  }
}
