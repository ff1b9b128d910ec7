// Stamps are written once per guest for a run of its consecutive steps, not once per step: when a
// later step fails, the steps that did succeed are still recorded (and only they), so a re-run
// redoes exactly what failed.

import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGuestConf } from '../../src/pve/format/index.js';
import { readStamps } from '../../src/runner/stamps.js';
import { ROOT, tempDir } from './helpers.js';

const BIN = path.join(ROOT, 'bin', 'phoenix.js');

function repositoryFleet(): string {
  const dir = tempDir('phoenix-stamp-batch-');
  cpSync(path.join(ROOT, 'phoenix.config.ts'), path.join(dir, 'phoenix.config.ts'));
  for (const d of ['features', 'apps']) cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
  return dir;
}

function phoenix(dir: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--sim', '--json'], {
    cwd: dir,
    env: {
      ...process.env,
      PHOENIX_SIM_ROOT: path.join(dir, '.phoenix', 'sim'),
      PHOENIX_SIM_SPEED: '0',
      PHOENIX_SIM_AGENT_DELAY: '0',
      PHOENIX_RETRY_BASE_MS: '10',
      ...env,
    },
    encoding: 'utf8',
  });
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; target?: string });
  return { status: r.status ?? -1, events, stderr: r.stderr };
}

function stampsOf(dir: string, vmid: number): Record<string, string> {
  const file = path.join(dir, '.phoenix', 'sim', 'etc', 'pve', 'nodes', 'pve', 'lxc', `${vmid}.conf`);
  const conf = parseGuestConf(readFileSync(file, 'utf8'), 'lxc');
  return readStamps(conf.main.description ?? '', vmid).targets;
}

describe('batched stamps', () => {
  it('a failing step leaves the earlier steps of its guest stamped, itself unstamped, and a re-run does only the rest', () => {
    const dir = repositoryFleet();
    // 914's second snapshot (`final-form`, after its feature and app scripts) fails once (914 has no
    // bind mounts, so Proxmox can snapshot it).
    const failed = phoenix(dir, ['build', '914'], {
      PHOENIX_SIM_FAULTS: 'cmd=pct,op=snapshot,vmid=914,after=1,times=1',
    });
    expect(failed.status).not.toBe(0);
    expect(failed.events.filter((e) => e.type === 'fail').map((e) => e.target)).toEqual([
      'lxc/914:snapshot:final-form',
    ]);
    const stamped = stampsOf(dir, 914);
    expect(Object.keys(stamped)).toEqual(
      expect.arrayContaining(['feature:ollama', 'app', 'snapshot:pre-configured']),
    );
    expect(stamped['snapshot:final-form']).toBeUndefined();

    const again = phoenix(dir, ['build', '914']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.events.filter((e) => e.type === 'done').map((e) => e.target)).toEqual([
      'lxc/914:snapshot:final-form',
    ]);
    expect(stampsOf(dir, 914)['snapshot:final-form']).toBeDefined();
  }, 600_000);
});
