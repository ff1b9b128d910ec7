// The one typed event stream a build emits. The listr2 display, the plain-lines log and the
// `--json` output are separate consumers; the runner knows none of them.
import type { FailureKind } from '../pve/failure.js';
import type { ReasonJson } from './staleness.js';
import type { Effect } from './types.js';

/**
 * Version of the JSON that `build --json`, `build -n --json`, `explain --json` and
 * `status --json` print; raised when a field changes meaning or goes away.
 */
export const JSON_VERSION = 1;

export interface PlanStep {
  target: string;
  guest: number;
  /** The node the step runs on; given when the config declares several nodes. */
  node?: string;
  action: Effect;
  step: string;
  reasons: ReasonJson[];
}

export interface FailureInfo {
  target: string;
  guest: number;
  error: string;
  /** Why it failed (`locked`, `transport`, `refused`, `task-failed`, `timeout`, …): decided where the error was known. */
  reason: FailureKind;
  command?: string;
  stderrTail: string;
}

export type BuildEvent =
  | { type: 'plan'; steps: PlanStep[]; selected: number }
  | { type: 'state-read'; hostCalls: number; ms: number; guests: number }
  | { type: 'note'; message: string }
  | {
      type: 'start';
      target: string;
      guest: number;
      action: Effect;
      step: string;
      reasons: ReasonJson[];
      etaMs?: number;
    }
  | { type: 'output'; target: string; line: string }
  | { type: 'retry'; target: string; attempt: number; delayMs: number; error: string; reason: FailureKind }
  | { type: 'fresh'; target: string; guest: number }
  | { type: 'done'; target: string; guest: number; changed: boolean; ms: number }
  | ({ type: 'fail'; ms: number } & FailureInfo)
  /** A running step given up on a Ctrl-C (a polling wait); it is neither built nor failed. */
  | { type: 'stopped'; target: string; guest: number; ms: number }
  | { type: 'blocked'; target: string; guest: number; because: string }
  | { type: 'interrupt'; message: string }
  | {
      type: 'summary';
      built: string[];
      fresh: number;
      failed: FailureInfo[];
      blocked: string[];
      notStarted: string[];
      ms: number;
      hostCalls: { reads: number; writes: number };
      interrupted: boolean;
      /** Cluster nodes that could not be reached: their guests (and what depends on them) are blocked. */
      nodesDown?: Array<{ node: string; reason: string }>;
    };

export type Emit = (event: BuildEvent) => void;
