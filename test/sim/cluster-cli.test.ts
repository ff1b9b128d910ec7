// The cluster through its executables: `phoenix sim init --nodes`, `phoenix sim node down|up`,
// and a migration seen from another process while it runs. Needs a fresh `npm run build`.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initSimCluster } from '../../src/sim/init.js';
import { BIN, cleanupSims, makeSim, PHOENIX, TEMPLATE } from './helpers.js';

afterAll(cleanupSims);

describe('phoenix sim with a cluster', () => {
  it('init --nodes 3 makes pve1..pve3; node down makes a node answer like an unreachable ssh host', () => {
    const sim = makeSim();
    const phoenix = (...args: string[]) =>
      spawnSync('node', [PHOENIX, 'sim', ...args], { env: sim.env, encoding: 'utf8' });
    expect(phoenix('init', '--nodes', '3').stdout).toBe(
      `Initialized simulated cluster (pve1, pve2, pve3) in ${sim.root}\n`,
    );
    expect(phoenix('node', 'down', 'pve2').stdout).toBe('Node pve2 is down\n');
    const r = sim.run('pct', ['list'], { PHOENIX_SIM_NODE: 'pve2' });
    expect(r).toMatchObject({ code: 255, stderr: 'ssh: connect to host pve2 port 22: No route to host\n' });
    const show = JSON.parse(phoenix('show', '--json').stdout);
    expect(show.nodes).toEqual([
      { node: 'pve1', down: false },
      { node: 'pve2', down: true },
      { node: 'pve3', down: false },
    ]);
    expect(phoenix('node', 'down', 'pve7')).toMatchObject({
      status: 2,
      stderr: "phoenix sim node down: no such cluster node 'pve7' (nodes: pve1, pve2, pve3)\n",
    });
    phoenix('node', 'up', 'pve2');
    expect(sim.run('pct', ['list'], { PHOENIX_SIM_NODE: 'pve2' }).code).toBe(0);
  });

  it('a migrating CT carries `lock: migrate` until the migration ends', async () => {
    const sim = makeSim();
    initSimCluster(sim.root, ['pve1', 'pve2']);
    const pve1 = { PHOENIX_SIM_NODE: 'pve1' };
    expect(sim.run('pct', ['create', '100', TEMPLATE, '--rootfs', 'local-lvm:8'], pve1).code).toBe(0);
    const child = spawn(join(BIN, 'pct'), ['migrate', '100', 'pve2'], {
      env: { ...sim.env, ...pve1, PHOENIX_SIM_FAULTS: 'op=migrate:mode=delay:delay=2' },
    });
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    const conf = join(sim.root, 'etc/pve/nodes/pve1/lxc/100.conf');
    let seen = false;
    for (let i = 0; i < 100 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        seen = /^lock: migrate$/m.test(readFileSync(conf, 'utf8'));
      } catch {
        break;
      }
    }
    expect(seen).toBe(true);
    expect(await done).toBe(0);
    expect(readFileSync(join(sim.root, 'etc/pve/nodes/pve2/lxc/100.conf'), 'utf8')).not.toContain('lock:');
  });
});
