// How Proxmox commands fail, as values the CLI layer turns into stderr text and exit codes.

/** A plain Perl `die` before any task started: message on stderr, exit 255. */
export class PveDie extends Error {}

/** A PVE::Exception with code 400 and per-parameter errors (`400 Parameter verification failed.`). */
export class ParamError extends Error {
  constructor(readonly errors: Record<string, string>) {
    super('Parameter verification failed.');
  }
}

/** A PVE::Exception with code 400 and a plain message (`400 not enough arguments`). */
export class UsageError extends Error {}

/** Raised by fault injection with mode=crash: the process dies like a killed task. */
export class SimCrash extends Error {}

/** Perl appends ` at FILE line N.` to a `die` message without trailing newline. */
export function perlAt(message: string, file: string, line: number): string {
  return `${message} at ${file} line ${line}.`;
}

/**
 * Something Proxmox does that the simulator does not model: it fails loudly (exit 70) rather
 * than pretending success.
 */
export class SimGap extends Error {}
