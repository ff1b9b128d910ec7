// Wording that must not mislead: a killed Proxmox command is named killed (not "exit 127"), a
// failed step keeps its time, and a dry run's recovery note says what would be done.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BirthRecord } from '../../src/pve/births.js';
import { guestFromText } from '../../src/pve/host.js';
import { emptyHostState } from '../../src/pve/state.js';
import { planRecovery } from '../../src/runner/half-made.js';
import { project } from '../engine/helpers.js';
import { configOf, lxcGuest } from '../fixtures/model.js';

describe('a Proxmox command killed by a signal', () => {
  it('is reported as killed by that signal, and the failed step keeps its time', () => {
    const p = project('small');
    const r = p.run(['build', '--sim'], { PHOENIX_SIM_FAULTS: 'cmd=pct:op=create:mode=crash:times=1' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL {2}lxc\/900:exists after \d+\.\ds: pct create 900 .* failed \(killed by signal SIGKILL\)/,
    );
    expect(r.stdout).not.toContain('exit 127');
    // The event log has the same failure, with its time.
    const fail = readFileSync(path.join(p.dir, '.phoenix', 'events.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; ms?: number; error?: string })
      .find((e) => e.type === 'fail');
    expect(fail?.error).toContain('killed by signal SIGKILL');
    expect(fail?.ms).toBeGreaterThan(0);
  }, 120_000);
});

describe('the recovery note of a dry run', () => {
  it('says what a build would do, not what was done', () => {
    const config = configOf([lxcGuest(900, { template: true }), lxcGuest(102, { cloneFrom: 900 })]);
    const state = emptyHostState();
    state.nodes = ['pve'];
    const confs: Record<number, string> = {
      900: 'lock: disk\nrootfs: local-lvm:base-900-disk-0,size=8G\ntemplate: 1\n',
      102: 'lock: create\nhostname: g102\n',
    };
    for (const [vmid, text] of Object.entries(confs)) {
      const gs = guestFromText(Number(vmid), 'lxc', 'pve', text);
      gs.status = 'stopped';
      state.guests.set(Number(vmid), gs);
    }
    const record: BirthRecord = {
      vmid: 102,
      kind: 'lxc',
      op: 'clone',
      source: 900,
      pid: 1,
      host: 'h',
      start: 'then',
    };
    state.births.set(102, record);
    const [note] = planRecovery(config, state, [900, 102], [], true).notes;
    expect(note).toMatch(
      /so Phoenix would unlock its source 900 \(lock: disk\), destroy the half-made 102 and create it again$/,
    );
    expect(note).not.toMatch(/unlocked|destroys|creates/);
    // A real build still says what it does.
    expect(planRecovery(config, state, [900, 102], []).notes[0]).toMatch(
      /destroys the half-made 102 and creates it again$/,
    );
  });
});
