// A clone copies its source as it is at that moment (or as the snapshot it names holds it), so
// `build <clone>` on an empty host first builds the source completely. Through the real CLI on
// the simulator.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { project } from './helpers.js';

const CONFIG = `import { defineConfig, lxc } from 'phoenix-pve';

export default defineConfig({
  node: 'pve',
  storages: {
    local: { type: 'dir', content: ['vztmpl', 'iso', 'import'], path: '/var/lib/vz' },
    'local-lvm': { type: 'lvmthin', content: ['rootdir', 'images'] },
  },
  features: {
    base: { script: 'features/base.sh' },
    docker: { script: 'features/docker.sh' },
  },
  guests: {
    900: lxc({
      name: 'golden',
      ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
      rootfs: { storage: 'local-lvm', sizeGb: 8 },
      net: [{ bridge: 'vmbr0', ip: 'dhcp' }],
      pveFeatures: { nesting: true },
      features: ['base'],
      snapshots: [{ name: 'ready', after: 'features' }],
    }),
    103: lxc({
      name: 'web',
      cloneFrom: 900,
      cloneSnapshot: 'ready',
      net: [{ bridge: 'vmbr0', ip: '10.0.0.103/24', gw: '10.0.0.1' }],
      features: ['docker'],
    }),
  },
});
`;

describe('build of a clone on an empty host', { timeout: 300_000 }, () => {
  it('builds its source completely (features, snapshot) first, then clones it with --snapname', () => {
    const p = project('small');
    writeFileSync(path.join(p.dir, 'phoenix.config.ts'), CONFIG);
    const r = p.run(['build', '103', '--sim']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const calls = p.calls().map((c) => `${c.cmd} ${c.args.join(' ')}`);
    const at = (re: RegExp) => calls.findIndex((c) => re.test(c));
    const clone = at(/^pct clone 900 103 /);
    expect(calls[clone]).toMatch(/--snapname ready( |$)/);
    expect(at(/^pct set 900 .*--features nesting=1|^pct create 900 .*--features nesting=1/)).toBeLessThan(
      clone,
    );
    // Scripts reach `bash -s` on stdin: the guest's exec log says which script each run read.
    const scriptsRun = (vmid: number) =>
      readFileSync(path.join(p.simRoot, `sim/guests/${vmid}/exec.jsonl`), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { cmd: string[]; stdin?: string })
        .filter((e) => e.cmd[0] === 'bash' && e.cmd[1] === '-s')
        .map((e) => /^echo (base|install docker)/m.exec(e.stdin ?? '')?.[1]);
    expect(scriptsRun(900)).toEqual(['base']);
    expect(at(/^pct exec 900 .*bash -s/)).toBeGreaterThan(-1);
    expect(at(/^pct exec 900 .*bash -s/)).toBeLessThan(at(/^pct snapshot 900 ready/));
    expect(at(/^pct snapshot 900 ready/)).toBeLessThan(clone);
    // The clone holds base (from the snapshot): only docker runs in it.
    expect(scriptsRun(103)).toEqual(['install docker']);
    expect(p.run(['build', '103', '--sim', '--dry-run', '--exit-code']).status).toBe(0);
  });
});
