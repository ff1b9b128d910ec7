// Birth records: before Phoenix asks Proxmox to create or clone a guest it writes a one-line
// record on the host (`/var/lib/phoenix/births/<vmid>.json`) and removes it once the guest is
// made. A `pct|qm create|clone` killed mid-task leaves the new guest under `lock: create|clone`
// with at most an empty config, so nothing in Proxmox says who started it: the record does.
// It lives on the host, beside what it describes, so any checkout and any later run sees it.
import type { Vmid } from '../dsl/model.js';

/** Proxmox's two guest kinds as Phoenix names them (state.ts re-exports it). */
export type GuestKind = 'lxc' | 'vm';

export const BIRTHS_DIR = '/var/lib/phoenix/births';

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

const BIRTH_LINE = /\/var\/lib\/phoenix\/births\/(\d+)\.json:(.*)$/;

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
