// Why a step failed, decided where the facts are known: the runner knows exit codes, signals and
// whether ssh itself failed; Proxmox's lock and refusal messages are known here, next to the
// code that talks to Proxmox. The scheduler retries on the kind, it never reads error text.
import type { CommandResult } from './runner.js';
import { sshFailure } from './ssh.js';

export type StepFailure =
  /** Proxmox's lock is held by a task that will end (a clone, a creation, a snapshot): retried. */
  | { kind: 'locked'; lock?: string }
  /** ssh could not reach the host or lost the connection; the command may not have run. */
  | { kind: 'transport' }
  /** A signal killed the command (OOM killer, an admin's kill). */
  | { kind: 'killed'; signal: string }
  /** Proxmox refused the call before doing anything (`400 Parameter verification failed.`, a lock it will not wait for). */
  | { kind: 'refused'; exitCode: number }
  /** The Proxmox command (or its worker task) ran and failed. */
  | { kind: 'task-failed'; exitCode: number }
  /** A wait ran out (the guest agent, a script in the guest, a health check). */
  | { kind: 'timeout' }
  /** Given up on a Ctrl-C. */
  | { kind: 'interrupted' }
  /** The command said it succeeded but the host does not show its effect, or the step cannot proceed. */
  | { kind: 'failed' }
  /** An exception that is no step failure: a bug, or an I/O error of the machine running Phoenix. */
  | { kind: 'unexpected' };

export type FailureKind = StepFailure['kind'];

/**
 * Locks whose holder is a task that ends by itself, so waiting helps. Proxmox dies with
 * `CT is locked (<lock>)` / `VM is locked (<lock>)` (pve-guest-common src/PVE/AbstractConfig.pm:339
 * `check_lock`); a `migrate`, `backup` or leftover lock is refused instead (an operator must act).
 */
const TRANSIENT_LOCK = /\b(?:CT|VM) is locked \((disk|create|snapshot|snapshot-delete|clone)\)/;
/**
 * The config-file lock: `trying to acquire lock...` while waiting, `got timeout` when the wait ran
 * out (pve-common src/PVE/Tools.pm:157-218 `lock_file_full`). Another task held the guest's config.
 */
const LOCK_TIMEOUT = /got timeout|trying to acquire lock/;
/** PVE::Exception with an HTTP code: the API refused the call (`400 Parameter verification failed.`). */
const API_REFUSAL = /^\d{3} /m;

/** Why a command failed; `undefined` when it succeeded. */
export function commandFailure(r: CommandResult): StepFailure | undefined {
  if (r.exitCode === 0) return undefined;
  if (r.transport !== undefined || sshFailure(r.exitCode, r.stderr)) return { kind: 'transport' };
  if (r.signal) return { kind: 'killed', signal: r.signal };
  const text = `${r.stderr}\n${r.stdout}`;
  const held = TRANSIENT_LOCK.exec(text);
  if (held) return { kind: 'locked', lock: held[1]! };
  if (LOCK_TIMEOUT.test(text)) return { kind: 'locked' };
  if (/\b(?:CT|VM) is locked \(/.test(text) || API_REFUSAL.test(r.stderr))
    return { kind: 'refused', exitCode: r.exitCode };
  return { kind: 'task-failed', exitCode: r.exitCode };
}

/** Worth another attempt after a pause: the same call can succeed once another task ends. */
export function isTransient(f: StepFailure): boolean {
  return f.kind === 'locked';
}

/** A guest found carrying `lock` when a step must edit it: worth waiting for only if a task holds it. */
export function guestLocked(lock: string): StepFailure {
  return TRANSIENT_LOCK.test(`CT is locked (${lock})`)
    ? { kind: 'locked', lock }
    : { kind: 'refused', exitCode: 0 };
}
