// The contract between the runner and the targets: what a target declares (its inputs and
// dependencies), how it observes the host, and the step that makes its output hold. The runner
// only knows this interface; each target kind lives in its own module under src/targets/.
import { setTimeout as delay } from 'node:timers/promises';
import type { Config, Guest, Vmid } from '../dsl/model.js';
import { commandFailure, type StepFailure } from '../pve/failure.js';
import type { CommandResult, RunOptions } from '../pve/runner.js';
import type { GuestKind, GuestState, HostState, PowerStatus } from '../pve/state.js';
import type { StampSet } from './stamps.js';

// One Result for the whole program, defined in the lowest layer (dsl); re-exported for the
// modules that already take it from here.
export { err, ok, type Result } from '../dsl/diagnostics.js';

/** A field whose host value differs from the declaration. */
export interface Drift {
  field: string;
  host: string | undefined;
  declared: string | undefined;
  /** The change only takes effect after a restart of the guest. */
  needsRestart?: boolean;
  /** The change cannot be made in place: the guest must be destroyed and created again. */
  needsReplace?: boolean;
}

export type Observation =
  | { kind: 'ok' }
  | { kind: 'missing'; detail: string }
  | { kind: 'drift'; drifts: Drift[] };

/** What running a step does to the guest. */
export type Effect = 'create' | 'update' | 'restart' | 'replace';

/** How a target's freshness relates to its stamp. */
export type StampUse =
  /** Output fully observable on the host: no stamp is kept (saves a host write per step). */
  | 'none'
  /** Output judged by observation; the stamp only catches input changes observation cannot see. */
  | 'optional'
  /** Output only knowable from the stamp (a script ran): no stamp = missing. */
  | 'required';

export interface TargetContext {
  config: Config;
  guest: Guest;
  state: HostState;
  /** This guest's state, `undefined` when it does not exist. */
  gs: GuestState | undefined;
  stamps: StampSet;
}

/** What a step may ask of the host. */
export interface StepHost {
  /**
   * The node these commands run on: the guest's current node (its declared one before it exists).
   * Optional only so hand-made test hosts need not give it; the scheduler always does.
   */
  node?: string;
  /** The same, for commands that must run on another node of the cluster (a clone on its source's node). */
  on?(node: string): StepHost;
  /** Runs a mutating Proxmox command; the output lines go to the progress display. */
  run(cmd: string, args: string[], opts?: RunOptions): Promise<CommandResult>;
  /** Runs a read-only command (status checks, verification). */
  read(cmd: string, args: string[]): Promise<CommandResult>;
  readFile(hostPath: string): Promise<string | undefined>;
  writeFile(hostPath: string, content: string): Promise<void>;
  removeFile(hostPath: string): Promise<void>;
  /** A host path as commands must name it (the simulator keeps its host under a folder). */
  mapPath(hostPath: string): string;
  /** Re-reads one guest's config file (and keeps the known status); verifies a step's effect. */
  readGuest(vmid: Vmid, kind: GuestKind, node: string, known: PowerStatus): Promise<GuestState | undefined>;
  /** Path of a declared script on the machine running Phoenix. */
  scriptPath(relative: string): string;
  /** Makes a local script available on the host; returns the path commands there must use. */
  stage(localPath: string): Promise<string>;
  /** Waits `seconds` of the host's time (the simulator scales it); an AbortError on Ctrl-C. */
  sleep(seconds: number): Promise<void>;
}

/** Waits `seconds` of a host's time; rejects with an AbortError when `signal` aborts. */
export type Sleep = (seconds: number, signal?: AbortSignal) => Promise<void>;

/**
 * A host's clock: `msPerSecond` is 1000 on a real host, 1000 × the speed on the simulator. A
 * wait never drops below a few milliseconds, so a polling step at speed 0 does not spin.
 */
export function sleeper(msPerSecond: number): Sleep {
  return (seconds, signal) => delay(Math.max(20, seconds * msPerSecond), undefined, signal ? { signal } : {});
}

/** How long steps wait on Proxmox and on guests; the CLI reads them from the environment. */
export interface StepLimits {
  /** A clean shutdown's grace before the forced stop (PHOENIX_SHUTDOWN_TIMEOUT_S). */
  shutdownTimeoutS: number;
  /** A provisioning script in a VM (`qm guest exec --timeout`, PHOENIX_GUEST_EXEC_TIMEOUT_S). */
  guestExecTimeoutS: number;
  /** The guest agent's first answer after a VM starts (PHOENIX_AGENT_WAIT_S). */
  agentWaitS: number;
}

export const DEFAULT_STEP_LIMITS: StepLimits = {
  shutdownTimeoutS: 60,
  guestExecTimeoutS: 3600,
  agentWaitS: 180,
};

export interface StepContext extends TargetContext {
  host: StepHost;
  limits: StepLimits;
  /** This target's fingerprint in stamp form; steps that write the description anyway can include it. */
  fingerprint: string;
  /** Progress lines for the display (the latest one is shown next to the running step). */
  log(line: string): void;
  /** Aborted on Ctrl-C: a step that polls (waits for something) stops waiting and throws an AbortError. */
  signal?: AbortSignal;
}

export interface StepResult {
  /** False when the step found nothing to do (ninja's restat: dependents need not re-run). */
  changed: boolean;
  /** Power state after the step, when the step knows it. */
  status?: PowerStatus;
}

/**
 * Thrown by steps for expected failures: a Proxmox command failed (carries its stderr), or the
 * step found the host not as it must be. `failure` says why, decided where it was known
 * (`commandFailure` for a command's result); the scheduler retries on it.
 */
export class StepError extends Error {
  constructor(
    message: string,
    readonly command?: string,
    readonly stderr?: string,
    readonly failure: StepFailure = { kind: 'failed' },
  ) {
    super(message);
  }

  /** A failed command: its stderr, and why it failed as the runner and Proxmox's messages tell. */
  static fromCommand(message: string, command: string, r: CommandResult): StepError {
    return new StepError(message, command, r.stderr, commandFailure(r) ?? { kind: 'failed' });
  }
}

declare const targetIdBrand: unique symbol;
/** `lxc/103:config`: made only by `targetId`, so an id is never spelled by hand. */
export type TargetId = string & { readonly [targetIdBrand]: true };

export interface Target {
  /** `lxc/103:config`, `vm/9000:feature:docker`. */
  id: TargetId;
  guest: Vmid;
  kind: GuestKind;
  /** `exists`, `config`, `feature:docker`, `snapshot:base`... */
  name: string;
  deps: TargetId[];
  stamp: StampUse;
  /** The declaration slice that defines the output (canonical-JSON hashed). */
  inputs(ctx: TargetContext): unknown;
  /** Scripts (paths relative to the config file) whose contents are inputs. */
  scripts(ctx: TargetContext): string[];
  observe(ctx: TargetContext): Observation;
  /** The effect of running the step now. */
  effect(ctx: TargetContext, obs: Observation): Effect;
  /** One line: what the step will do (`pct clone 900 103 --hostname web`). */
  describe(ctx: TargetContext, obs: Observation): string;
  /**
   * For planning only: whether creating this guest (from its template or image, or by cloning
   * its source) already makes this target hold, so `--dry-run` need not list it. The scheduler judges it again anyway.
   */
  coveredByCreate?(ctx: TargetContext): boolean;
  /**
   * Names of this guest's targets whose changing run in this build makes this target stale: its
   * output holds only after theirs did (the guest agent answers some time after a start), and
   * the state read cannot show it.
   */
  staleAfter?: string[];
  /** Resource keys held while the step runs (`guest:103`, `guest:900` for a CT clone). */
  locks(ctx: TargetContext): string[];
  run(ctx: StepContext): Promise<StepResult>;
}

export function targetId(kind: GuestKind, vmid: Vmid, name: string): TargetId {
  return `${kind}/${vmid}:${name}` as TargetId;
}

/** Parses `lxc/103:config` or `103:config` (kind optional). */
export function parseTargetRef(ref: string): { vmid: Vmid; name?: string } | undefined {
  const m = /^(?:(?:lxc|vm)\/)?(\d+)(?::(.+))?$/.exec(ref.trim());
  if (!m) return undefined;
  return m[2] === undefined ? { vmid: Number(m[1]) } : { vmid: Number(m[1]), name: m[2] };
}
