// The example 3-node cluster built through the real CLI on a fresh simulated cluster: the
// cross-node clones are made the way Proxmox allows (a migration after a clone of a local
// template, `--target` for a shared one), a no-op rebuild changes nothing, and moving a guest to
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
    // Local LVM-thin template: a linked clone on pve1 (it can migrate), then the migration.
    const clone102 = calls.find((x) => /^pct clone 900 102 /.test(x));
    expect(clone102).toBeDefined();
    expect(clone102).not.toMatch(/--target|--full/);
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
  });

  it('moves a running guest whose node changed by migration: same disk, same stamps, nothing destroyed', () => {
    const c = cluster();
    expect(c.run(['build', '--sim', '--config', 'phoenix.config.ts']).status).toBe(0);
    const was = mainSection(c.conf('pve1', 'lxc', 101));
    const file = path.join(c.dir, 'phoenix.config.ts');
    const text = readFileSync(file, 'utf8');
    const moved = text.replace(/name: 'dns',\n {6}node: 'pve1'/, "name: 'dns',\n      node: 'pve3'");
    expect(moved).not.toBe(text);
    writeFileSync(file, moved);

    const dry = c.run(['build', '--sim', '--config', 'phoenix.config.ts', '--dry-run']);
    expect(dry.out).toContain('migrate 101 pve1 → pve3 (restart: pct migrate 101 pve3 --restart)');

    const before = c.calls().length;
    const r = c.run(['build', '--sim', '--config', 'phoenix.config.ts']);
    expect(r.status, r.out).toBe(0);
    const calls = c.calls().slice(before);
    expect(calls).toContain('pct migrate 101 pve3 --restart');
    expect(calls.filter((x) => /destroy|create|clone/.test(x))).toEqual([]);
    expect(c.conf('pve1', 'lxc', 101)).toBeUndefined();
    const now = mainSection(c.conf('pve3', 'lxc', 101));
    const line = (conf: string, key: string) => conf.split('\n').find((l) => l.startsWith(`${key}:`));
    expect(line(now, 'rootfs')).toBe(line(was, 'rootfs'));
    const stamps = (conf: string) => conf.split('\n').filter((l) => l.startsWith('#'));
    expect(stamps(now)).toEqual(stamps(was));
    expect(stamps(now).length).toBeGreaterThan(0);
  });
});
