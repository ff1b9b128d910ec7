// A Bash client using pvesh create/set/delete on the guest firewall, pct exec without a shell
// and pct pull, run against the simulator's executables as it would run on a Proxmox host.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSims, makeSim, TEMPLATE } from './helpers.js';

afterAll(cleanupSims);

const SCRIPT = resolve(import.meta.dirname, '../fixtures/sim/guest-setup.sh');

describe('a Bash client of pct and pvesh', () => {
  it('sets firewall rules and options, runs argv without a shell, pushes and pulls a file', () => {
    const sim = makeSim();
    expect(sim.run('pct', ['create', '210', TEMPLATE, '--rootfs', 'local-lvm:4']).code).toBe(0);
    expect(sim.run('pct', ['start', '210']).code).toBe(0);
    const work = mkdtempSync(join(sim.root, 'work-'));
    writeFileSync(join(work, 'app.conf'), 'listen = 0.0.0.0:8080\n');
    const r = spawnSync('bash', [SCRIPT, 'pve', '210', work], { env: sim.env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('done\n');
    expect(readFileSync(join(sim.root, 'etc/pve/firewall/210.fw'), 'utf8')).toBe(
      '[OPTIONS]\n\nenable: 1\npolicy_in: DROP\n\n[RULES]\n\nIN DROP -source 10.9.0.0/16 -log nolog\n\n',
    );
    const rules = JSON.parse(readFileSync(join(work, 'rules.json'), 'utf8')) as Array<
      Record<string, unknown>
    >;
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ pos: 0, type: 'in', action: 'DROP', enable: 1, source: '10.9.0.0/16' });
    expect(readFileSync(join(work, 'app.conf.back'), 'utf8')).toBe('listen = 0.0.0.0:8080\n');
  }, 180_000); // 15 separate command processes

  it('pvesh fails like pvesh on a path or method the API does not have', () => {
    const sim = makeSim();
    const none = sim.run('pvesh', ['create', '/nodes/pve/lxc/210/firewall/options', '--enable', '1']);
    expect(none).toMatchObject({
      code: 1,
      stderr: "No 'create' handler defined for '/nodes/pve/lxc/210/firewall/options'\n",
    });
    const gone = sim.run('pvesh', ['delete', '/nodes/pve/lxc/210/firewall/rules/0']);
    expect(gone).toMatchObject({ code: 255, stderr: 'no rule at position 0\n' });
    const ls = sim.run('pvesh', ['ls', '/nodes/pve/lxc/210/firewall']);
    // resource_cap: D = has children, r GET, w PUT, c POST, d DELETE (pvesh.pm:183-220).
    expect(ls.stdout).toBe(
      'Dr-c-        aliases\nDr-c-        ipset\n-rw--        options\n-r---        refs\nDr-c-        rules\n',
    );
  });
});
