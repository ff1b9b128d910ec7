// destroy, start/stop/restart and check-health through the real CLI on the simulator (the hosts
// they act on are built in process, engine/inproc.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { guestCalls, ok, type Project, project, ROOT } from './helpers.js';

const conf = (p: Project, id: number) => p.hostFile(`/etc/pve/nodes/pve/lxc/${id}.conf`);
const status = (p: Project, id: number) =>
  /status: (\w+)/.exec(p.sim('pct', ['status', String(id)]).stdout)?.[1];

function execRules(p: Project, rules: unknown[]) {
  mkdirSync(path.join(p.simRoot, 'sim'), { recursive: true });
  writeFileSync(path.join(p.simRoot, 'sim', 'exec-rules.json'), JSON.stringify(rules));
}

describe('start / stop / restart', () => {
  let p: Project;
  beforeAll(async () => {
    p = project('fleet');
    await p.seed();
  });

  it('stop stops dependents first (105 → 104 → 103) and says why it added them', () => {
    const before = p.calls().length;
    const r = p.run(['stop', '103', '--sim', '--yes']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('also stopping 104 (it depends on 103)');
    expect(guestCalls(p.calls().slice(before), 'pct', ['shutdown', 'stop'])).toEqual([
      'shutdown 105',
      'shutdown 104',
      'shutdown 103',
    ]);
    for (const id of [103, 104, 105]) expect(status(p, id)).toBe('stopped');
  });

  it('start starts dependencies first (103 → 104 → 105)', () => {
    const before = p.calls().length;
    const r = p.run(['start', '105', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    expect(guestCalls(p.calls().slice(before), 'pct', ['start'])).toEqual([
      'start 103',
      'start 104',
      'start 105',
    ]);
    for (const id of [103, 104, 105]) expect(status(p, id)).toBe('running');
  }, 180_000); // four CLI runs, each with a health check retried four times

  it('--no-deps acts on the named guest only; a running guest is left alone', () => {
    const stop = p.run(['stop', '104', '--no-deps', '--force', '--sim']);
    expect(stop.status, stop.stderr).toBe(0);
    expect(status(p, 104)).toBe('stopped');
    expect(status(p, 105)).toBe('running');
    const before = p.calls().length;
    const start = p.run(['start', '104', '105', '--sim']);
    expect(start.status, start.stderr).toBe(0);
    expect(start.stdout).toContain('105 worker is running already');
    expect(guestCalls(p.calls().slice(before), 'pct', ['start'])).toEqual(['start 104']);
  });

  it('templates are skipped with a note; restart stops then starts in order', () => {
    const before = p.calls().length;
    const r = p.run(['restart', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/900 base-template skipped: a template never runs/);
    expect(guestCalls(p.calls().slice(before), 'pct', ['shutdown', 'start'])).toEqual([
      'shutdown 105',
      'shutdown 104',
      'shutdown 103',
      'start 103',
      'start 104',
      'start 105',
    ]);
    const t = p.run(['start', '900', '--sim']);
    expect(t.status).toBe(0);
    expect(t.stdout).toContain('skipped: a template never runs');
  });

  it('--dry-run prints the commands and changes nothing', () => {
    const before = p.calls().length;
    const r = p.run(['stop', '--sim', '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('pct'))).toEqual([
      'pct shutdown 105  (worker)',
      'pct shutdown 104  (web)',
      'pct shutdown 103  (ca)',
    ]);
    expect(guestCalls(p.calls().slice(before), 'pct', ['shutdown', 'stop', 'start'])).toEqual([]);
  });

  it("start waits for a started guest's health check before starting its dependents", () => {
    ok(p.run(['stop', '103', '--sim', '--yes']));
    execRules(p, [{ vmid: 103, match: 'systemctl is-active step-ca', exit: 3, stderr: 'inactive' }]);
    const before = p.calls().length;
    const r = p.run(['start', '105', '--sim']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('103 ca: UNHEALTHY after 4 attempts (exit 3): inactive');
    expect(r.stderr).toContain('not done: start 104, start 105');
    expect(guestCalls(p.calls().slice(before), 'pct', ['start'])).toEqual(['start 103']);
    execRules(p, []);
    const again = p.run(['start', '105', '--sim']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('103 ca is running already');
    for (const id of [103, 104, 105]) expect(status(p, id)).toBe('running');
  }, 180_000); // four CLI runs, each with a health check retried four times

  it('build applied the declared boot settings (onboot, startup order)', () => {
    const main = (conf(p, 103) ?? '').split(/\n\[/)[0] ?? '';
    expect(main).toMatch(/^onboot: 1$/m);
    expect(main).toMatch(/^startup: order=1$/m);
  });

  it('an undeclared or malformed id is bad input (exit 2)', () => {
    expect(p.run(['start', '777', '--sim']).status).toBe(2);
    expect(p.run(['stop', '103:config', '--sim']).status).toBe(2);
  });
});

describe('check-health and the health target', () => {
  let p: Project;
  beforeAll(() => {
    p = project('fleet');
    // 103's check fails during the first build.
    execRules(p, [{ vmid: 103, match: 'systemctl is-active step-ca', exit: 3, stderr: 'inactive' }]);
  });

  it('a failing check fails 103:health and blocks the provisioning of its dependent 104', () => {
    const r = p.run(['build', '--sim']);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /lxc\/103:health: 103 ca: UNHEALTHY after 4 attempts \(exit 3\): inactive/,
    );
    expect(r.stdout + r.stderr).toMatch(/blocked[\s\S]*lxc\/104:feature:docker/);
  });

  it('check-health reports it on demand (exit 1), then healthy once the service answers', () => {
    const bad = p.run(['check-health', '--sim']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('103 ca: UNHEALTHY after 4 attempts (exit 3): inactive');
    execRules(p, []);
    const good = p.run(['check-health', '103', '--sim', '--json']);
    expect(good.status, good.stderr).toBe(0);
    const json = JSON.parse(good.stdout) as { results: Array<{ vmid: number; healthy: boolean }> };
    expect(json.results).toEqual([expect.objectContaining({ vmid: 103, healthy: true })]);
  });

  it('the next build passes the check, then provisions 104; a third build runs nothing', async () => {
    const r = p.run(['build', '--sim']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/done\s+lxc\/103:health/);
    expect(r.stdout).toMatch(/done\s+lxc\/104:feature:docker/);
    const before = p.calls().length;
    await p.seed();
    const execs = p
      .calls()
      .slice(before)
      .filter((c) => c.cmd === 'pct' && c.args[0] === 'exec');
    expect(execs).toEqual([]);
  });

  it('a stopped guest asked by name is unhealthy', () => {
    ok(p.run(['stop', '103', '--no-deps', '--sim']));
    const r = p.run(['check-health', '103', '--sim']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('103 ca: UNHEALTHY: is stopped');
  });
});

describe('destroy', () => {
  let p: Project;
  beforeAll(async () => {
    p = project('fleet');
    await p.seed();
  });

  it('refuses a template that still has linked clones, naming them, and touches nothing', () => {
    const before = p.calls().length;
    const r = p.run(['destroy', '900', '--yes', '--sim']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('guest 900 is a template with linked clones 103, 104, 105');
    expect(guestCalls(p.calls().slice(before), 'pct', ['stop', 'destroy'])).toEqual([]);
    expect(conf(p, 900)).toBeDefined();
  });

  it('without --yes and without a terminal it refuses', () => {
    const r = p.run(['destroy', '105', '--sim']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('pass --yes');
    expect(conf(p, 105)).toBeDefined();
  });

  it.skipIf(spawnSync('script', ['--version']).status !== 0)('on a terminal it asks; "n" cancels', () => {
    const ask = (answer: string) =>
      spawnSync(
        'script',
        [
          '-qec',
          `${process.execPath} ${path.join(ROOT, 'bin', 'phoenix.js')} destroy 105 --sim`,
          '/dev/null',
        ],
        {
          cwd: p.dir,
          env: { ...process.env, PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: '0' },
          input: `${answer}\n`,
          encoding: 'utf8',
        },
      );
    const no = ask('n');
    expect(no.stdout).toContain('Destroy 1 guest (105)? This cannot be undone. [y/N]');
    expect(no.stdout).toContain('cancelled, nothing was destroyed');
    expect(conf(p, 105)).toBeDefined();
  });

  it('--dry-run shows what is lost and changes nothing', () => {
    const before = p.calls().length;
    const r = p.run(['destroy', '105', '--sim', '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('destroy 105 worker (lxc, running): pct stop 105; pct destroy 105 --purge');
    expect(r.stdout).toMatch(/loses: rootfs local-lvm:vm-105-disk-0 \(8G\)/);
    expect(guestCalls(p.calls().slice(before), 'pct', ['stop', 'destroy'])).toEqual([]);
  });

  it('stops a running guest, then destroys it with --purge', () => {
    const before = p.calls().length;
    const r = p.run(['destroy', '105', '--yes', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    expect(guestCalls(p.calls().slice(before), 'pct', ['stop', 'destroy'])).toEqual([
      'stop 105',
      'destroy 105',
    ]);
    expect(p.calls().find((c) => c.cmd === 'pct' && c.args[0] === 'destroy')?.args).toEqual([
      'destroy',
      '105',
      '--purge',
    ]);
    expect(conf(p, 105)).toBeUndefined();
    expect(r.stdout).toContain('the next build creates it again');
  });

  it('destroys a template together with its clones, clones first', () => {
    const before = p.calls().length;
    const r = p.run(['destroy', '900', '104', '103', '--yes', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    expect(guestCalls(p.calls().slice(before), 'pct', ['destroy'])).toEqual([
      'destroy 103',
      'destroy 104',
      'destroy 900',
    ]);
    for (const id of [103, 104, 900]) expect(conf(p, id)).toBeUndefined();
  });

  it('an undeclared guest needs --yes even when named', () => {
    expect(
      p.sim('pct', [
        'create',
        '555',
        'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
        '--rootfs',
        'local-lvm:4',
      ]).status,
    ).toBe(0);
    const no = p.run(['destroy', '555', '--sim', '--dry-run']);
    expect(no.status).toBe(1);
    expect(no.stderr).toContain('guest 555 is not declared in phoenix.config.ts');
    const yes = p.run(['destroy', '555', '--sim', '--yes']);
    expect(yes.status, yes.stderr).toBe(0);
    expect(conf(p, 555)).toBeUndefined();
  });

  it('a guest that does not exist is a note, not an error', () => {
    const r = p.run(['destroy', '105', '--yes', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('guest 105 does not exist on the host: nothing to destroy');
  });
});

describe('VMs: power order, health through the guest agent, destroy', () => {
  let p: Project;
  const qmStatus = (id: number) => /status: (\w+)/.exec(p.sim('qm', ['status', String(id)]).stdout)?.[1];
  beforeAll(async () => {
    p = project('vms');
    await p.seed();
  });

  it('stop and start follow dependsOn with qm', () => {
    let before = p.calls().length;
    ok(p.run(['stop', '1001', '--sim', '--yes']));
    expect(guestCalls(p.calls().slice(before), 'qm', ['shutdown'])).toEqual([
      'shutdown 1002',
      'shutdown 1001',
    ]);
    expect(qmStatus(1002)).toBe('stopped');
    before = p.calls().length;
    ok(p.run(['start', '1002', '--sim']));
    expect(guestCalls(p.calls().slice(before), 'qm', ['start'])).toEqual(['start 1001', 'start 1002']);
  });

  it('check-health reads the exit code from qm guest exec JSON', () => {
    execRules(p, [{ vmid: 1001, match: 'pg_isready', exit: 2, stdout: 'no response' }]);
    const bad = p.run(['check-health', '--sim']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('1001 db: UNHEALTHY after 2 attempts (exit 2): no response');
    execRules(p, []);
    expect(p.run(['check-health', '--sim']).stdout).toContain('1001 db: healthy');
  });

  it('a VM template with linked clones is refused; together they go clones first', () => {
    const refused = p.run(['destroy', '9000', '--yes', '--sim']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('guest 9000 is a template with linked clones 1001, 1002');
    const before = p.calls().length;
    const r = p.run(['destroy', '9000', '1001', '1002', '--yes', '--sim']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /destroy 9000 cloud-template \(vm template\): qm destroy 9000 --purge\n\s+loses: .*scsi0 local-lvm:base-9000-disk-0/,
    );
    expect(guestCalls(p.calls().slice(before), 'qm', ['stop', 'destroy'])).toEqual([
      'stop 1001',
      'destroy 1001',
      'stop 1002',
      'destroy 1002',
      'destroy 9000',
    ]);
  });
});
