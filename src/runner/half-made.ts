// Half-made guests. Proxmox cleans up after a create or clone task that fails; one that is
// killed (the node's worker died, someone ran `kill`, the host lost power) leaves the new guest
// under `lock: create|clone` and, for a CT clone, its source under `lock: disk`. Nothing then
// runs against either until an admin unlocks. Phoenix recovers only what it provably started
// itself (its birth record on the host, or its birth stamp in the half-made guest's Notes), only
// when no Proxmox task is still running for it, and says what it does; anything else is named
// as a problem and left alone. Pure: the caller reads the host and runs the actions.
import type { Config, Vmid } from '../dsl/model.js';
import type { BirthRecord } from '../pve/births.js';
import type { ActiveTask } from '../pve/host.js';
import { descriptionOf, type GuestKind, type GuestState, type HostState } from '../pve/state.js';
import { readStamps } from './stamps.js';

export type RecoveryAction =
  /** `pct|qm unlock`: a lock left by a killed task of Phoenix's. */
  | { kind: 'unlock'; vmid: Vmid; guestKind: GuestKind; lock: string }
  /** `pct|qm destroy --purge --destroy-unreferenced-disks`: a half-made guest Phoenix started. */
  | { kind: 'destroy'; vmid: Vmid; guestKind: GuestKind }
  /** Remove a birth record whose creation is over (made, or cleaned up by Proxmox). */
  | { kind: 'forget'; vmid: Vmid };

export interface RecoveryPlan {
  /** In order: unlock sources, unlock and destroy half-made guests, forget records. */
  actions: RecoveryAction[];
  /** What the user is told, one line per recovered guest. */
  notes: string[];
  /** Locks Phoenix will not lift: the build refuses, naming them. */
  problems: string[];
  /** Tasks still running on locked guests: wait for them, then read the host again. */
  busy: ActiveTask[];
}

const CREATING = new Set(['create', 'clone']);

const label = (kind: GuestKind, vmid: Vmid) => `${kind === 'lxc' ? 'CT' : 'VM'} ${vmid}`;
const toolOf = (kind: GuestKind) => (kind === 'lxc' ? 'pct' : 'qm');

/** Whether any guest of interest carries a lock: only then are Proxmox's tasks worth asking. */
export function needsTaskCheck(state: HostState, vmids: Iterable<Vmid>): boolean {
  for (const v of vmids) if (state.guests.get(v)?.lock) return true;
  return false;
}

/** Where a half-made guest was being cloned from, if it was a clone. */
function sourceOf(config: Config, gs: GuestState, record: BirthRecord | undefined): Vmid | undefined {
  if (record) return record.op === 'clone' ? record.source : undefined;
  return config.guests.get(gs.vmid)?.cloneFrom;
}

/**
 * Left by a killed creation: under `lock: create|clone`, or (a run killed between unlocking and
 * destroying it) an unlocked config with nothing in it beside Phoenix's birth record.
 */
function halfMade(gs: GuestState, record: BirthRecord | undefined): boolean {
  if (gs.lock) return CREATING.has(gs.lock);
  return record !== undefined && Object.keys(gs.conf.main.props).length === 0;
}

/** Phoenix started this guest's creation: its record, or its own birth stamp in the Notes. */
function startedByPhoenix(gs: GuestState, record: BirthRecord | undefined): boolean {
  return record !== undefined || readStamps(descriptionOf(gs), gs.vmid).by === gs.vmid;
}

function who(record: BirthRecord | undefined): string {
  return record ? `build pid ${record.pid} on ${record.host}, ${record.start}` : 'an earlier build';
}

/**
 * Decides what to do about locks left on the guests of interest (`vmids`: the selected guests,
 * which include every clone source they need). `tasks` are the node's active tasks.
 */
export function planRecovery(
  config: Config,
  state: HostState,
  vmids: Iterable<Vmid>,
  tasks: ActiveTask[],
  /** A dry run changes nothing: its notes say what a build would do. */
  dryRun = false,
): RecoveryPlan {
  const would = (did: string, will: string) => (dryRun ? `would ${will}` : did);
  const plan: RecoveryPlan = { actions: [], notes: [], problems: [], busy: [] };
  const wanted = new Set(vmids);
  const running = (vmid: Vmid) => tasks.filter((t) => t.id === String(vmid));
  const unlocked = new Set<Vmid>();
  const destroyed = new Set<Vmid>();

  const busyOn = (vmid: Vmid, source?: Vmid): boolean => {
    const live = [...running(vmid), ...(source !== undefined ? running(source) : [])];
    for (const t of live) if (!plan.busy.some((b) => b.upid === t.upid)) plan.busy.push(t);
    return live.length > 0;
  };

  // 1. Half-made guests under `lock: create|clone`.
  for (const vmid of [...wanted].sort((a, b) => a - b)) {
    const gs = state.guests.get(vmid);
    const record = state.births.get(vmid);
    if (!gs || !halfMade(gs, record)) continue;
    const lock = gs.lock ?? 'none';
    const source = sourceOf(config, gs, record);
    if (busyOn(vmid, source)) continue;
    const tool = toolOf(gs.kind);
    if (!startedByPhoenix(gs, record)) {
      plan.problems.push(
        `${label(gs.kind, vmid)} is locked (${lock}) by an interrupted creation Phoenix did not start, and no Proxmox task is running for it: check it, then \`${tool} unlock ${vmid}\` and \`${tool} destroy ${vmid}\` to let Phoenix create it`,
      );
      continue;
    }
    const said: string[] = [];
    const src = source !== undefined ? state.guests.get(source) : undefined;
    if (src?.lock === 'disk' && source !== undefined && !unlocked.has(source) && !busyOn(source)) {
      plan.actions.push({ kind: 'unlock', vmid: source, guestKind: src.kind, lock: 'disk' });
      unlocked.add(source);
      said.push(`${dryRun ? 'unlock' : 'unlocked'} its source ${source} (lock: disk)`);
    }
    if (gs.lock) plan.actions.push({ kind: 'unlock', vmid, guestKind: gs.kind, lock: gs.lock });
    plan.actions.push({ kind: 'destroy', vmid, guestKind: gs.kind });
    destroyed.add(vmid);
    unlocked.add(vmid);
    const how = record ? `${record.op}${record.source !== undefined ? ` from ${record.source}` : ''}` : lock;
    const left = gs.lock ? `lock: ${gs.lock}` : 'an empty config';
    plan.notes.push(
      `recovering half-made ${label(gs.kind, vmid)}: its ${how} (${who(record)}) was killed before it finished and left ${left}; no Proxmox task is running for it, so Phoenix ${dryRun ? 'would ' : ''}${[...said, `${dryRun ? 'destroy' : 'destroys'} the half-made ${vmid}`].join(', ')} and ${dryRun ? 'create' : 'creates'} it again`,
    );
  }

  // 2. Clone sources left under `lock: disk` whose clone is gone (killed before the new guest's
  //    config existed, or already recovered above).
  for (const vmid of [...wanted].sort((a, b) => a - b)) {
    const gs = state.guests.get(vmid);
    if (gs?.lock !== 'disk' || unlocked.has(vmid)) continue;
    if (busyOn(vmid)) continue;
    const clone = [...state.births.values()].find(
      (r) => r.op === 'clone' && r.source === vmid && !state.guests.get(r.vmid)?.lock,
    );
    const tool = toolOf(gs.kind);
    if (!clone) {
      plan.problems.push(
        `${label(gs.kind, vmid)} is locked (disk) and no Proxmox task is running for it: an interrupted clone or disk operation Phoenix did not start; check it, then \`${tool} unlock ${vmid}\``,
      );
      continue;
    }
    plan.actions.push({ kind: 'unlock', vmid, guestKind: gs.kind, lock: 'disk' });
    unlocked.add(vmid);
    plan.notes.push(
      `${would('unlocked', 'unlock')} ${label(gs.kind, vmid)}: a clone of it to ${clone.vmid} (${who(clone)}) was killed and left lock: disk; no Proxmox task is running for it`,
    );
  }

  // 3. Records of creations that are over: the guest exists unlocked, or is gone.
  for (const record of state.births.values()) {
    if (destroyed.has(record.vmid)) {
      plan.actions.push({ kind: 'forget', vmid: record.vmid });
      continue;
    }
    const gs = state.guests.get(record.vmid);
    if (gs?.lock && CREATING.has(gs.lock)) continue; // not ours to judge now (not selected, or busy)
    const src = record.source !== undefined ? state.guests.get(record.source) : undefined;
    if (src?.lock === 'disk' && !unlocked.has(record.source!)) continue; // its source still needs it
    if (plan.busy.length && (running(record.vmid).length || (record.source && running(record.source).length)))
      continue;
    plan.actions.push({ kind: 'forget', vmid: record.vmid });
  }
  return plan;
}

/** For `status`: what a guest's lock means, or undefined when it has none. */
export function lockNote(state: HostState, vmid: Vmid): string | undefined {
  const gs = state.guests.get(vmid);
  if (!gs?.lock) return undefined;
  if (!CREATING.has(gs.lock)) return `locked (${gs.lock})`;
  return startedByPhoenix(gs, state.births.get(vmid))
    ? `locked (${gs.lock}): half-made by an interrupted creation of Phoenix's; a build recovers it once no Proxmox task runs for it`
    : `locked (${gs.lock}): an interrupted creation Phoenix did not start`;
}

/** The host as it will be once the actions ran: what a dry run plans against. */
export function afterRecovery(state: HostState, actions: RecoveryAction[]): HostState {
  if (!actions.length) return state;
  const guests = new Map(state.guests);
  const births = new Map(state.births);
  for (const a of actions) {
    if (a.kind === 'destroy') guests.delete(a.vmid);
    if (a.kind === 'forget') births.delete(a.vmid);
    if (a.kind === 'unlock') {
      const gs = guests.get(a.vmid);
      if (gs) {
        const { lock: _lock, ...rest } = gs;
        guests.set(a.vmid, rest);
      }
    }
  }
  return { ...state, guests, births };
}

/** The Proxmox command of an action (`forget` is a file removal, not a command). */
export function actionCommand(a: RecoveryAction): { cmd: string; args: string[] } | undefined {
  if (a.kind === 'unlock') return { cmd: toolOf(a.guestKind), args: ['unlock', String(a.vmid)] };
  if (a.kind === 'destroy')
    return {
      cmd: toolOf(a.guestKind),
      // Unreferenced disks too: a killed create has allocated volumes its config never named.
      args: ['destroy', String(a.vmid), '--purge', '--destroy-unreferenced-disks', '1'],
    };
  return undefined;
}
