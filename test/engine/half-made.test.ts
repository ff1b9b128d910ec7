// The decisions of half-made guest recovery (src/runner/half-made.ts), on hand-made host states:
// what is Phoenix's to recover, what waits for a running task, what is refused, and that
// nothing outside the guests of interest is touched.
import { describe, expect, it } from 'vitest';
import type { BirthRecord } from '../../src/pve/births.js';
import { type ActiveTask, guestFromText } from '../../src/pve/host.js';
import { emptyHostState, type HostState } from '../../src/pve/state.js';
import { actionCommand, afterRecovery, needsTaskCheck, planRecovery } from '../../src/runner/half-made.js';
import { writeStamps } from '../../src/runner/stamps.js';
import { configOf, lxcGuest } from '../fixtures/model.js';

const lxc = lxcGuest;

const config = configOf;

const fleet = config([lxc(900, { template: true }), lxc(102, { cloneFrom: 900 })]);

function host(confs: Record<number, string>, births: BirthRecord[] = []): HostState {
  const s = emptyHostState();
  s.nodes = ['pve'];
  for (const [vmid, text] of Object.entries(confs)) {
    const gs = guestFromText(Number(vmid), 'lxc', 'pve', text);
    gs.status = 'stopped';
    s.guests.set(Number(vmid), gs);
  }
  for (const b of births) s.births.set(b.vmid, b);
  return s;
}

const record = (vmid: number, source?: number): BirthRecord => ({
  vmid,
  kind: 'lxc',
  op: source === undefined ? 'create' : 'clone',
  ...(source === undefined ? {} : { source }),
  pid: 4242,
  host: 'laptop',
  start: '2026-11-22T01:00:00.000Z',
});

const template = 'rootfs: local-lvm:base-900-disk-0,size=8G\ntemplate: 1\n';
const task = (id: number, type = 'vzclone'): ActiveTask => ({
  upid: `UPID:pve:00001234:00005678:6740A000:${type}:${id}:root@pam:`,
  type,
  id: String(id),
  node: 'pve',
});

describe('planRecovery', () => {
  it('a killed clone Phoenix started: unlock the source, unlock and destroy the clone, forget the record', () => {
    const state = host({ 900: `lock: disk\n${template}`, 102: 'lock: create\nhostname: g102\n' }, [
      record(102, 900),
    ]);
    expect(needsTaskCheck(state, [900, 102])).toBe(true);
    const plan = planRecovery(fleet, state, [900, 102], []);
    expect(plan.problems).toEqual([]);
    expect(plan.busy).toEqual([]);
    expect(plan.actions.map(actionCommand).map((c) => c && `${c.cmd} ${c.args.join(' ')}`)).toEqual([
      'pct unlock 900',
      'pct unlock 102',
      'pct destroy 102 --purge --destroy-unreferenced-disks 1',
      undefined,
    ]);
    expect(plan.actions.at(-1)).toEqual({ kind: 'forget', vmid: 102 });
    expect(plan.notes).toEqual([
      'recovering half-made CT 102: its clone from 900 (build pid 4242 on laptop, 2026-11-22T01:00:00.000Z) was killed before it finished and left lock: create; no Proxmox task is running for it, so Phoenix unlocked its source 900 (lock: disk), destroys the half-made 102 and creates it again',
    ]);
    const after = afterRecovery(state, plan.actions);
    expect(after.guests.has(102)).toBe(false);
    expect(after.guests.get(900)?.lock).toBeUndefined();
    expect(after.births.size).toBe(0);
  });

  it('no record but its own birth stamp in the notes (a CT clone copies the description first) is enough', () => {
    const notes = writeStamps('', 102, { exists: 'abc.def' }).replace(/\n/g, '\n#');
    const state = host({ 900: `lock: disk\n${template}`, 102: `#${notes}\nlock: create\n` });
    const plan = planRecovery(fleet, state, [900, 102], []);
    expect(plan.problems).toEqual([]);
    expect(plan.actions.map((a) => `${a.kind} ${a.vmid}`)).toEqual([
      'unlock 900',
      'unlock 102',
      'destroy 102',
    ]);
  });

  it('a half-made guest with neither record nor stamp is refused, naming it, with no action', () => {
    const state = host({ 102: 'lock: create\n' });
    const plan = planRecovery(fleet, state, [102], []);
    expect(plan.actions).toEqual([]);
    expect(plan.problems).toEqual([
      'CT 102 is locked (create) by an interrupted creation Phoenix did not start, and no Proxmox task is running for it: check it, then `pct unlock 102` and `pct destroy 102` to let Phoenix create it',
    ]);
  });

  it('a task still running on the clone or its source: wait, decide nothing yet', () => {
    const state = host({ 900: `lock: disk\n${template}`, 102: 'lock: create\n' }, [record(102, 900)]);
    const plan = planRecovery(fleet, state, [900, 102], [task(900), task(555, 'vzstart')]);
    expect(plan.busy.map((t) => t.id)).toEqual(['900']);
    expect(plan.actions).toEqual([]);
    expect(plan.problems).toEqual([]);
  });

  it('guests outside the selection are never judged', () => {
    const state = host({ 102: 'lock: create\n', 555: 'lock: create\n' }, [record(102, 900)]);
    const plan = planRecovery(fleet, state, [900], []);
    expect(plan.actions).toEqual([]);
    expect(plan.problems).toEqual([]);
    expect(needsTaskCheck(state, [900])).toBe(false);
  });

  it('a source left under lock: disk by a clone killed before the new config existed is unlocked', () => {
    const state = host({ 900: `lock: disk\n${template}` }, [record(102, 900)]);
    const plan = planRecovery(fleet, state, [900, 102], []);
    expect(plan.actions).toEqual([
      { kind: 'unlock', vmid: 900, guestKind: 'lxc', lock: 'disk' },
      { kind: 'forget', vmid: 102 },
    ]);
    expect(plan.notes[0]).toMatch(/^unlocked CT 900: a clone of it to 102 \(build pid 4242/);
  });

  it('lock: disk with no clone of Phoenix behind it is refused', () => {
    const state = host({ 900: `lock: disk\n${template}` });
    const plan = planRecovery(fleet, state, [900], []);
    expect(plan.actions).toEqual([]);
    expect(plan.problems[0]).toMatch(/^CT 900 is locked \(disk\) and no Proxmox task is running for it/);
  });

  it('an emptied config beside a record (a run killed between unlock and destroy) is still half-made', () => {
    const state = host({ 900: '' }, [record(900)]);
    const plan = planRecovery(fleet, state, [900], []);
    expect(plan.actions.map((a) => `${a.kind} ${a.vmid}`)).toEqual(['destroy 900', 'forget 900']);
    expect(plan.notes[0]).toMatch(/left an empty config/);
  });

  it('records of finished creations are forgotten; other locks are not this module’s business', () => {
    const state = host({ 102: 'rootfs: local-lvm:vm-102-disk-0,size=8G\nlock: snapshot\n' }, [
      record(102, 900),
      record(103),
    ]);
    const plan = planRecovery(fleet, state, [102], []);
    expect(plan.actions).toEqual([
      { kind: 'forget', vmid: 102 },
      { kind: 'forget', vmid: 103 },
    ]);
    expect(plan.problems).toEqual([]);
  });
});
