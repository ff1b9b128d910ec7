// Guests of the repository's fleet and of the fleet fixture on the simulator: host-side settings,
// drift and how a build restores it, disk and clone-source changes. Hosts are built and decisions
// made in process (engine/inproc.ts); status and explain run through the real CLI, whose output
// they are.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { staleTargets } from '../engine/helpers.js';
import { isRead, type Project, project } from './helpers.js';

function idmapLines(conf: string): string[] {
  // Main section only: snapshots repeat the lines.
  const main = conf.split(/\n\[/)[0] ?? '';
  return main
    .split('\n')
    .filter((l) => l.startsWith('lxc.idmap:'))
    .map((l) => l.slice('lxc.idmap:'.length).trim().replace(/\s+/g, ' '))
    .sort();
}

function lines(text: string | undefined): string[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

describe('guest 101 of the top-level fleet (gid 33 mapped, three bind mounts)', () => {
  let p: Project;
  beforeAll(async () => {
    p = project('top');
    await p.seed(['101']);
  });

  it('gets exactly the idmap lines a real host needs (uid side kept, gid 33 passed through)', () => {
    const conf = p.hostFile('/etc/pve/nodes/pve/lxc/101.conf') ?? '';
    // Any custom lxc.idmap line replaces Proxmox's default map for BOTH types
    // (pve-container LXC.pm update_lxc_config: default lines only `if ($unprivileged && !$custom_idmap)`).
    expect(idmapLines(conf)).toEqual(
      ['u 0 100000 65536', 'g 0 100000 33', 'g 33 33 1', 'g 34 100034 65502'].sort(),
    );
  });

  it('gets the host-side LXC settings of the legacy fleet (AppArmor, nesting, raw lxc.*, second NIC)', () => {
    const main = (p.hostFile('/etc/pve/nodes/pve/lxc/101.conf') ?? '').split(/\n\[/)[0] ?? '';
    for (const line of [
      'lxc.apparmor.profile: unconfined',
      'lxc.apparmor.allow_nesting: 1',
      'lxc.mount.auto: sys:rw',
      'lxc.net.0.type: macvlan',
    ])
      expect(main.split('\n')).toContain(line);
    expect(main).toMatch(/^net1: name=eth1,bridge=vmbr100,.*ip=172\.16\.100\.10\/24/m);
    expect(main).toMatch(/^onboot: 1$/m);
    expect(main).toMatch(/^startup: order=2,up=5,down=5$/m);
  });

  it('delegates the passed-through gid to root in /etc/subgid, keeping the default range', () => {
    expect(lines(p.hostFile('/etc/subgid'))).toContain('root:33:1');
    expect(lines(p.hostFile('/etc/subgid'))).toContain('root:100000:65536');
    expect(lines(p.hostFile('/etc/subuid'))).toContain('root:100000:65536');
    expect(lines(p.hostFile('/etc/subuid'))).not.toContain('root:33:1');
  });

  it('creates the host folders with the owners the container will see', () => {
    const owners = JSON.parse(readFileSync(path.join(p.simRoot, 'sim', 'owners.json'), 'utf8')) as Record<
      string,
      { user: string; group?: string }
    >;
    const base = '/mnt/pve/quickOS/lxc-persistent-data';
    // uid 33 is not mapped → 100000+33; gid 33 is mapped to host gid 33.
    expect(owners[`${base}/101/logs`]).toMatchObject({ user: '100033', group: '33' });
    expect(owners[`${base}/101/ssl`]).toMatchObject({ user: '100000', group: '100000' });
    expect(owners[`${base}/103/ssl`]).toMatchObject({ user: '100000', group: '100000' });
    for (const d of ['101/logs', '101/ssl', '103/ssl'])
      expect(existsSync(path.join(p.simRoot, base, d))).toBe(true);
    // Made before the mounts were attached (a bind mount of a missing folder fails at start).
    const calls = p.calls();
    const firstChown = calls.findIndex((c) => c.cmd === 'chown');
    const mpSet = calls.findIndex(
      (c) => c.cmd === 'pct' && c.args[0] === 'set' && c.args[1] === '101' && c.args.includes('--mp0'),
    );
    expect(firstChown).toBeGreaterThanOrEqual(0);
    expect(firstChown).toBeLessThan(mpSet);
  });

  it('a second build changes nothing', async () => {
    const before = p.calls().length;
    await p.seed(['101']);
    const writes = p
      .calls()
      .slice(before)
      .filter((c) => !isRead(c));
    expect(writes).toEqual([]);
  });

  it('an out-of-band `pct set 103 --memory 512` shows as drift and a build restores the value', async () => {
    expect(p.sim('pct', ['set', '103', '--memory', '512']).status).toBe(0);
    const st = p.run(['status', '--sim']);
    expect(st.stdout).toMatch(/103[\s\S]*memory: 512 → 1024/);
    const ex = p.run(['explain', '103', '--sim']);
    expect(ex.stdout).toContain('memory: 512 → 1024');
    await p.seed(['103']);
    const conf = p.hostFile('/etc/pve/nodes/pve/lxc/103.conf') ?? '';
    expect(conf.split(/\n\[/)[0]).toMatch(/^memory: 1024$/m);
    expect(await staleTargets(p, ['103'])).toEqual([]);
  });

  it('shrinking the root disk is a plan error; growing it resizes in place', async () => {
    p.edit(
      'phoenix.config.ts',
      /(101: lxc\(\{[\s\S]*?rootfs: \{ storage: 'quickOS-lxc-disks', sizeGb: )32/,
      '$120',
    );
    const shrink = await (await p.inproc()).plan(['101']);
    const problems = shrink.problems.join('\n');
    expect(problems).toMatch(/101/);
    expect(problems).toMatch(/shrink/i);

    p.edit(
      'phoenix.config.ts',
      /(101: lxc\(\{[\s\S]*?rootfs: \{ storage: 'quickOS-lxc-disks', sizeGb: )20/,
      '$140',
    );
    const before = p.calls().length;
    await p.seed(['101']);
    const calls = p.calls().slice(before);
    expect(calls.filter((c) => c.cmd === 'pct' && c.args[0] === 'resize').map((c) => c.args)).toEqual([
      ['resize', '101', 'rootfs', '40G'],
    ]);
    expect(
      calls.some((c) => c.cmd === 'pct' && ['destroy', 'clone', 'create'].includes(c.args[0] ?? '')),
    ).toBe(false);
    const conf = p.hostFile('/etc/pve/nodes/pve/lxc/101.conf') ?? '';
    expect(conf.split(/\n\[/)[0]).toMatch(/^rootfs: .*size=40G/m);
  });
});

describe('host folder drift', () => {
  it('a hand chown of a bind-mounted folder shows as drift and a build restores the owner', async () => {
    const p = project('top');
    await p.seed(['101']);
    const dir = '/mnt/pve/quickOS/lxc-persistent-data/101/logs';
    expect(p.sim('chown', ['0:0', dir]).status).toBe(0);
    const ex = p.run(['explain', '101:hostdirs', '--sim']);
    expect(ex.stdout).toContain(`host folder ${dir}: 0:0 → 100033:33`);
    await p.seed(['101']);
    expect(p.sim('stat', ['-c', '%u:%g', dir]).stdout.trim()).toBe('100033:33');
  });
});

describe('changing a clone source', () => {
  let p: Project;
  beforeAll(async () => {
    p = project('fleet');
    await p.seed();
  });

  it('without --allow-replace fails with a plan that names the guest', async () => {
    p.edit('phoenix.config.ts', /(103: lxc\(\{\s*name: 'ca',\s*cloneFrom: )900/, '$1901');
    const before = p.calls().length;
    const r = await (await p.inproc()).build();
    expect(r.ok).toBe(false);
    const problems = r.problems.join('\n');
    expect(problems).toMatch(/replace guest 103/);
    expect(problems).toMatch(/--allow-replace/);
    // …and says what would be lost.
    expect(problems).toContain('it would lose: rootfs local-lvm:vm-103-disk-0 (8G)');
    expect(
      p
        .calls()
        .slice(before)
        .filter((c) => !isRead(c)),
    ).toEqual([]);
  });

  it('with --allow-replace re-clones it from the new source', async () => {
    await p.seed([], { allowReplace: true });
    const clone = p.calls().filter((c) => c.cmd === 'pct' && c.args[0] === 'clone' && c.args[2] === '103');
    expect(clone.at(-1)?.args[1]).toBe('901');
  });
});

describe('drift of a hand-edited firewall file', () => {
  let p: Project;
  beforeAll(async () => {
    p = project('fleet');
    await p.seed(['104']);
  });

  it('shows the changed rule with old and new values, and a build writes the declared file back', async () => {
    const fw = '/etc/pve/firewall/104.fw';
    const declared = p.hostFile(fw) ?? '';
    expect(declared).toContain('IN ACCEPT -p tcp -dport 443 # https');
    writeFileSync(path.join(p.simRoot, fw), declared.replace('-dport 443', '-dport 8443'));
    const ex = p.run(['explain', '104:config', '--sim']);
    expect(ex.stdout).toContain('IN ACCEPT -p tcp -dport 8443 # https → IN ACCEPT -p tcp -dport 443 # https');
    await p.seed(['104']);
    expect(p.hostFile(fw)).toBe(declared);
  });
});
