// The engine verbs' output contracts, end to end on the simulator: the plan's totals, one JSON
// shape for reasons with a version field, the summary's counts, `graph` without host state,
// `status` columns, `sim reset` under a build's lock, and `stop` asking before it stops dependents.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Project, project } from '../engine/helpers.js';
import { phoenixInPty, plain } from './pty.js';

type Json = Record<string, unknown>;
const isReason = (r: unknown) =>
  typeof r === 'object' &&
  r !== null &&
  typeof (r as Json).kind === 'string' &&
  typeof (r as Json).text === 'string';

describe('before the first build', () => {
  let p: Project;
  beforeAll(() => {
    p = project('small');
  });

  it('the dry run ends with Terraform-like totals', () => {
    const r = p.run(['build', '--sim', '-n']);
    expect(r.status, r.stderr).toBe(0);
    const last = r.stdout.trim().split('\n').at(-1);
    // Three guests to create (their configuration is part of creating them) and their features.
    expect(last).toMatch(/^Plan: 3 to create, 0 to update, 0 to replace, \d+ to provision$/);
    const json = JSON.parse(p.run(['build', '--sim', '-n', '--json']).stdout) as {
      version: number;
      steps: Array<{ target: string; reasons: unknown[] }>;
      totals: Record<string, number>;
    };
    expect(json.version).toBe(1);
    const provision = json.steps.filter((s) => /:feature:/.test(s.target)).length;
    expect(last).toContain(`${provision} to provision`);
    expect(json.totals).toEqual({ create: 3, update: 0, replace: 0, provision });
    expect(json.steps.every((s) => s.reasons.length > 0 && s.reasons.every(isReason))).toBe(true);
  });

  it('status --json and explain --json carry a version and reasons as objects', () => {
    const status = JSON.parse(p.run(['status', '--sim', '--json']).stdout) as {
      version: number;
      guests: Array<{ targets: Array<{ reasons: unknown[] }> }>;
    };
    expect(status.version).toBe(1);
    const reasons = status.guests.flatMap((g) => g.targets.flatMap((t) => t.reasons));
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.every(isReason)).toBe(true);
    const explain = JSON.parse(p.run(['explain', '103', '--sim', '--json']).stdout) as {
      version: number;
      targets: Array<{ reasons: unknown[] }>;
    };
    expect(explain.version).toBe(1);
    expect(explain.targets.flatMap((t) => t.reasons).every(isReason)).toBe(true);
  });

  it('graph without host state shows no state rather than every guest fresh', () => {
    const r = p.run(['graph', '--sim', '--no-state']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/fresh|stale|missing/);
    const json = JSON.parse(p.run(['graph', '--sim', '--no-state', '--format', 'json']).stdout) as {
      guests: Array<{ state: string }>;
      targets: Array<{ state: string }>;
    };
    expect(new Set([...json.guests, ...json.targets].map((n) => n.state))).toEqual(new Set(['unknown']));
    // With the state read, a guest not built yet is missing, not fresh.
    const known = JSON.parse(p.run(['graph', '--sim', '--format', 'json']).stdout) as {
      guests: Array<{ vmid: number; state: string }>;
    };
    expect(known.guests.map((g) => g.state)).toEqual(['missing', 'missing', 'missing']);
  });

  it('status keeps its columns aligned when a name is long', () => {
    const file = path.join(p.dir, 'phoenix.config.ts');
    const long = p.run(['status', '--sim']);
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace("name: 'db'", "name: 'a-rather-long-database-server-name'"),
    );
    const r = p.run(['status', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^\d+ /.test(l));
    expect(rows).toHaveLength(3);
    const kindAt = rows.map((l) => l.search(/ lxc /));
    expect(new Set(kindAt).size, r.stdout).toBe(1);
    expect(long.stdout).not.toBe(r.stdout);
  });
});

describe('a build and the verbs after it', () => {
  let p: Project;
  let events: Json[];
  beforeAll(() => {
    p = project('small');
    const r = p.events(['build', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    events = r.events;
  }, 240_000);

  it('every --json event line carries the version; plan and start reasons are objects', () => {
    expect(events.every((e) => e.version === 1)).toBe(true);
    const plan = events.find((e) => e.type === 'plan') as { steps: Array<{ reasons: unknown[] }> };
    expect(plan.steps.flatMap((s) => s.reasons).every(isReason)).toBe(true);
    const starts = events.filter((e) => e.type === 'start') as Array<{ reasons: unknown[] }>;
    expect(starts.flatMap((s) => s.reasons).every(isReason)).toBe(true);
  });

  it('the summary counts every selected target once', () => {
    const plan = events.find((e) => e.type === 'plan') as { selected: number; steps: unknown[] };
    const s = events.find((e) => e.type === 'summary') as {
      built: string[];
      fresh: number;
      failed: unknown[];
      blocked: string[];
      notStarted: string[];
    };
    expect(s.built.length).toBe(plan.steps.length - (s.fresh - (plan.selected - plan.steps.length)));
    expect(s.built.length + s.fresh + s.failed.length + s.blocked.length + s.notStarted.length).toBe(
      plan.selected,
    );
  });

  it('stop asks before also stopping the guests that depend on the named one', async () => {
    // 104 depends on 103. Without a terminal and without --yes: refused, with the list.
    const r = p.run(['stop', '103', '--sim']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/stopping 103 also stops 1 guest that depends on it: 104 \(db\); pass --yes/);
    expect(p.run(['status', '--sim']).stdout).toMatch(/^103 +web +lxc +fresh, running/m);
    // In a terminal it asks; "n" stops nothing.
    const tty = phoenixInPty(['stop', '103', '--sim'], {
      cwd: p.dir,
      env: { PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: '0' },
    });
    await tty.waitFor(/Stop them too\? \[y\/N\]/);
    tty.type('n\r');
    expect(await tty.exited).toBe(1);
    expect(plain(tty.output())).toContain('cancelled, nothing was stopped');
    expect(p.run(['status', '--sim']).stdout).toMatch(/^104 +db +lxc +fresh, running/m);
    // --yes is the scripts' answer.
    const yes = p.run(['stop', '103', '--sim', '--yes']);
    expect(yes.status, yes.stderr).toBe(0);
    expect(yes.stdout).toMatch(/stopped: 104, 103/);
  }, 120_000);

  it('changes to guests that stay are counted as updates', () => {
    const file = path.join(p.dir, 'phoenix.config.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace('memoryMb: 2048', 'memoryMb: 3072'));
    const r = p.run(['build', '--sim', '-n']);
    // 103's config, and starting 103 and 104 again (the test above stopped them).
    expect(r.stdout).toMatch(/^lxc\/103:config +\[update\]/m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(
      'Plan: 0 to create, 3 to update, 0 to replace, 0 to provision',
    );
  });

  it('sim reset refuses while a build holds the host’s lock', () => {
    const lock = path.join(p.simRoot, 'run', 'lock', 'phoenix-build.lock');
    mkdirSync(path.dirname(lock), { recursive: true });
    // This test process stands in for a running build.
    writeFileSync(lock, `${JSON.stringify({ pid: process.pid, host: hostname(), start: 'now' })}\n`);
    const r = p.run(['sim', 'reset']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^phoenix sim reset: refusing: another build holds .*pid \d+/);
    expect(p.run(['status', '--sim']).stdout).toMatch(/^103 +web +lxc +stale, stopped/m);
    rmSync(lock);
    const again = p.run(['sim', 'reset']);
    expect(again.status, again.stderr).toBe(0);
    expect(p.run(['status', '--sim']).stdout).toMatch(/^103 +web +lxc +missing/m);
  });
});
