// The example 3-node cluster built through the real CLI on a fresh simulated cluster: the
// cross-node clones are made the way Proxmox allows (a full clone and a migration from a local
// ZFS template, `--target` from a shared one), a no-op rebuild changes nothing, and moving a guest to
// another node migrates it: same disk, same stamps, nothing destroyed.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../engine/helpers.js';

const BIN = path.join(ROOT, 'bin', 'phoenix.js');

function cluster() {
  const dir = tempDir('phoenix-cluster-');
  cpSync(path.join(ROOT, 'examples', 'cluster'), dir, { recursive: true });
  const simRoot = path.join(dir, '.phoenix', 'sim');
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...process.env, PHOENIX_SIM_ROOT: simRoot, PHOENIX_SIM_SPEED: '0', PHOENIX_RETRY_BASE_MS: '10' },
      encoding: 'utf8',
    });
    return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  };
  const calls = (): string[] => {
    const file = path.join(simRoot, 'calls.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { cmd: string; args: string[] })
      .map((c) => `${c.cmd} ${c.args.join(' ')}`);
  };
  const conf = (node: string, kind: 'lxc' | 'qemu-server', vmid: number): string | undefined => {
    const file = path.join(simRoot, 'etc', 'pve', 'nodes', node, kind, `${vmid}.conf`);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  };
  return { dir, run, calls, conf };
}

/** The main section of a config (snapshots and pending sections cut). */
const mainSection = (text: string | undefined) => (text ?? '').split(/\n\[/)[0]!;

describe('the example 3-node cluster', { timeout: 600_000 }, () => {
  it('builds on a fresh simulated cluster, places every guest on its node, and a rebuild changes nothing', () => {
    const c = cluster();
    const r = c.run(['build', '--sim', '--config', 'phoenix.config.ts']);
    expect(r.status, r.out).toBe(0);
    for (const [node, vmid] of [
      ['pve1', 900],
      ['pve1', 901],
      ['pve1', 101],
      ['pve2', 102],
      ['pve3', 103],
      ['pve3', 105],
    ] as const) {
      expect(c.conf(node, 'lxc', vmid), `${vmid} on ${node}`).toBeDefined();
    }
    expect(c.conf('pve2', 'qemu-server', 104)).toBeDefined();

    const calls = c.calls();
    // Local ZFS template: a full clone on pve1 (a linked one could not migrate), then the migration.
    const clone102 = calls.find((x) => /^pct clone 900 102 /.test(x));
    expect(clone102).toMatch(/ --full /);
    expect(clone102).not.toMatch(/--target/);
    expect(calls).toContain('pct migrate 102 pve2');
    // Shared template: straight onto pve3.
    expect(calls.find((x) => /^pct clone 901 103 /.test(x))).toMatch(/--target pve3/);
    expect(calls.some((x) => /^pct migrate 103 /.test(x))).toBe(false);

    const before = calls.length;
    const again = c.run(['build', '--sim', '--config', 'phoenix.config.ts']);
    expect(again.status, again.out).toBe(0);
    const changed = c
      .calls()
      .slice(before)
      .filter((x) => /^(pct|qm) (clone|create|migrate|destroy|set) /.test(x));
    expect(changed).toEqual([]);
    expect(again.out).toMatch(/\b0 of \d+ targets stale/);
  });

  it('moves running guests whose node changed by migration: same disks, same stamps, nothing destroyed', () => {
    const c = cluster();
    const built = c.run(['build', '101', '104', '--sim', '--config', 'phoenix.config.ts']);
    expect(built.status, built.out).toBe(0);
    const ct = mainSection(c.conf('pve1', 'lxc', 101));
    const vm = mainSection(c.conf('pve2', 'qemu-server', 104));
    const file = path.join(c.dir, 'phoenix.config.ts');
    const text = readFileSync(file, 'utf8');
    const moved = text
      .replace(/name: 'dns',\n {6}node: 'pve1'/, "name: 'dns',\n      node: 'pve3'")
      .replace(/name: 'db',\n {6}node: 'pve2'/, "name: 'db',\n      node: 'pve3'");
    expect(moved.match(/node: 'pve3'/g)?.length).toBe(4);
    writeFileSync(file, moved);

    const dry = c.run(['build', '101', '104', '--sim', '--config', 'phoenix.config.ts', '--dry-run']);
    expect(dry.out).toContain('migrate 101 pve1 → pve3 (restart: pct migrate 101 pve3 --restart)');
    expect(dry.out).toContain(
      'migrate 104 pve2 → pve3 (online: qm migrate 104 pve3 --online --with-local-disks)',
    );

    const before = c.calls().length;
    const r = c.run(['build', '101', '104', '--sim', '--config', 'phoenix.config.ts']);
    expect(r.status, r.out).toBe(0);
    const calls = c.calls().slice(before);
    expect(calls).toContain('pct migrate 101 pve3 --restart');
    expect(calls).toContain('qm migrate 104 pve3 --online --with-local-disks');
    expect(calls.filter((x) => /destroy|create|clone/.test(x))).toEqual([]);
    expect(c.conf('pve1', 'lxc', 101)).toBeUndefined();
    expect(c.conf('pve2', 'qemu-server', 104)).toBeUndefined();
    // The whole main section moved as it was: disks (rootfs, scsi0) and the stamps in the description.
    expect(mainSection(c.conf('pve3', 'lxc', 101))).toBe(ct);
    expect(mainSection(c.conf('pve3', 'qemu-server', 104))).toBe(vm);
    expect(ct).toMatch(/^rootfs: local-lvm:vm-101-disk-0/m);
    expect(ct).toMatch(/^#phoenix%3Astamps/m);

    const again = c.run(['build', '101', '104', '--sim', '--config', 'phoenix.config.ts']);
    expect(again.out).toMatch(/\b0 of \d+ targets stale/);
  });
});
