// What the guest verbs (destroy, start/stop/restart, check-health, build) share on the command
// line: parsing guest ids, asking for confirmation, the host-side build lock, the host's clock.
import path from 'node:path';
import type { Config, Vmid } from '../dsl/model.js';
import type { Host } from '../pve/host.js';
import type { Result } from '../runner/types.js';

/** Parses VMIDs given on the command line (`103`, `lxc/103`); targets (`103:config`) are refused. */
export function parseIds(refs: string[]): Result<Vmid[], string> {
  const out: Vmid[] = [];
  for (const ref of refs) {
    const m = /^(?:(?:lxc|vm)\/)?(\d+)$/.exec(ref.trim());
    const n = m ? Number(m[1]) : Number.NaN;
    if (!m || n < 100 || n > 999999999)
      return { ok: false, error: `'${ref}' is not a guest id (expected a VMID like 103)` };
    out.push(n);
  }
  return { ok: true, value: [...new Set(out)] };
}

/** Ids that must be declared (power verbs, check-health): refuses unknown ones with a hint. */
export function declaredIds(config: Config, ids: Vmid[]): Result<Vmid[], string> {
  const unknown = ids.filter((id) => !config.guests.has(id));
  if (unknown.length) {
    return {
      ok: false,
      error: `${unknown.join(', ')}: not declared in ${path.basename(config.file)} (declared: ${[...config.guests.keys()].join(', ')})`,
    };
  }
  return { ok: true, value: ids };
}

/** Asks a yes/no question on the terminal; false unless the answer starts with y. */
export async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Runs `fn` holding the host's build lock (a build and a destroy must not interleave). */
export async function withBuildLock<T>(
  host: Host,
  verb: string,
  fn: () => Promise<T>,
): Promise<Result<T, string>> {
  const lock = await host.acquireLock();
  if (!lock.ok) return { ok: false, error: lock.error };
  if (lock.value.note) process.stderr.write(`phoenix ${verb}: ${lock.value.note}\n`);
  try {
    return { ok: true, value: await fn() };
  } finally {
    await host.releaseLock();
  }
}
