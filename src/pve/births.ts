// Birth records: Phoenix asks Proxmox to create or clone a guest in one host call that first
// writes a one-line record on the host (`/etc/pve/phoenix/births/<vmid>.json`), then becomes the
// Proxmox command; the records of the guests a run made are removed together at its end. A
// `pct|qm create|clone` killed mid-task leaves the new guest under `lock: create|clone` with at
// most an empty config, so nothing in Proxmox says who started it: the record does. It lives on
// the host, beside what it describes, so any checkout and any later run sees it — in /etc/pve,
// which pmxcfs replicates to every node of a cluster (any path and folder may be made there:
// pve-cluster src/pmxcfs/memdb.c memdb_mkdir/memdb_write refuse only '.', '..' and files over
// 1 MiB), so the one state read from any node sees a record written on any other, and the run's
// end removes them all through one node.
import type { Vmid } from '../dsl/model.js';
import { writeThen } from './write-then.js';

/** Proxmox's two guest kinds as Phoenix names them (state.ts re-exports it). */
export type GuestKind = 'lxc' | 'vm';

export const BIRTHS_DIR = '/etc/pve/phoenix/births';

export interface BirthRecord {
  vmid: Vmid;
  kind: GuestKind;
  op: 'create' | 'clone';
  /** The clone source (its `lock: disk` is ours to release when the clone was killed). */
  source?: Vmid;
  /** The Phoenix process that started the creation, for messages. */
  pid: number;
  host: string;
  start: string;
}

export function birthPath(vmid: Vmid): string {
  return `${BIRTHS_DIR}/${vmid}.json`;
}

export function printBirth(r: BirthRecord): string {
  return `${JSON.stringify(r)}\n`;
}

/**
 * The creating command `cmd args` with its birth record written first, as ONE host call
 * (write-then.ts): no record, no creation.
 */
export function withBirthRecord(
  r: BirthRecord,
  mapPath: (hostPath: string) => string,
  cmd: string,
  args: string[],
): [string, string[]] {
  return writeThen(birthPath(r.vmid), printBirth(r), mapPath, cmd, args);
}

const BIRTH_LINE = /\/etc\/pve\/phoenix\/births\/(\d+)\.json:(.*)$/;

/** A `grep -rH` line of the births folder → its record; anything damaged reads as no record. */
export function parseBirthLine(line: string): BirthRecord | undefined {
  const m = BIRTH_LINE.exec(line);
  if (!m) return undefined;
  try {
    const r = JSON.parse(m[2]!) as Partial<BirthRecord>;
    const vmid = Number(m[1]);
    if (r.vmid !== vmid || (r.kind !== 'lxc' && r.kind !== 'vm') || (r.op !== 'create' && r.op !== 'clone'))
      return undefined;
    return {
      vmid,
      kind: r.kind,
      op: r.op,
      ...(typeof r.source === 'number' ? { source: r.source } : {}),
      pid: typeof r.pid === 'number' ? r.pid : 0,
      host: typeof r.host === 'string' ? r.host : '?',
      start: typeof r.start === 'string' ? r.start : '?',
    };
  } catch {
    return undefined;
  }
}

/**
 * Removes the records of guests whose creation is over, in one host call (a run's end). Best
 * effort: a record left behind describes a made guest, which the next run's recovery forgets.
 */
export async function forgetBirths(
  run: (cmd: string, args: string[]) => Promise<{ exitCode: number }>,
  mapPath: (hostPath: string) => string,
  vmids: Iterable<Vmid>,
): Promise<boolean> {
  const files = [...vmids].map((v) => mapPath(birthPath(v)));
  if (!files.length) return true;
  const r = await run('rm', ['-f', '--', ...files]).catch(() => ({ exitCode: -1 }));
  return r.exitCode === 0;
}
