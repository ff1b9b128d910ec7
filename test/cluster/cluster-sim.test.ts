// A three-node simulated cluster (one /etc/pve, a local storage per node): guests on every node
// are built through their own node, a no-op rebuild costs no more host calls than a single node's,
// status shows each guest's node, and with one node down the others' guests still build while the
// report names the node.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { project } from '../engine/helpers.js';

const CONFIG = `import { defineConfig, lxc } from 'phoenix-pve';
const ct = (name: string, node: 'pve1' | 'pve2' | 'pve3', extra = {}) =>
  lxc({ name, node, ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
        rootfs: { storage: 'local', sizeGb: 4 }, features: ['base'], ...extra });
export default defineConfig({
  nodes: { pve1: 'local', pve2: 'local', pve3: 'local' },
  storages: { local: { type: 'dir', content: ['vztmpl', 'rootdir', 'images'], path: '/var/lib/vz' } },
  features: { base: { script: 'features/base.sh' } },
  guests: {
    101: ct('one', 'pve1'),
    102: ct('two', 'pve2'),
    103: ct('three', 'pve3'),
    104: ct('four', 'pve1', { dependsOn: [103] }),
  },
});
`;

function threeNodes() {
  const p = project('small');
  // The fixture's feature scripts stay; its config is replaced.
  writeFileSync(path.join(p.dir, 'phoenix.config.ts'), CONFIG);
  return p;
}

type Summary = {
  built: string[];
  failed: unknown[];
  blocked: string[];
  hostCalls: { reads: number; writes: number };
  nodesDown?: Array<{ node: string; reason: string }>;
};
const summaryOf = (events: Array<Record<string, unknown>>) =>
  events.find((e) => e.type === 'summary') as Summary | undefined;

describe('three-node simulated cluster', () => {
  it('builds guests on every node, each on its own node; a no-op rebuild costs what one node costs', () => {
    const p = threeNodes();
    const first = p.events(['build', '--sim']);
    expect(first.status, first.stderr).toBe(0);
    const status = JSON.parse(p.run(['status', '--sim', '--json']).stdout) as {
      guests: Array<{ vmid: number; node: string; state: string }>;
    };
    expect(status.guests.map((g) => [g.vmid, g.node, g.state])).toEqual([
      [101, 'pve1', 'fresh'],
      [102, 'pve2', 'fresh'],
      [103, 'pve3', 'fresh'],
      [104, 'pve1', 'fresh'],
    ]);
    const again = summaryOf(p.events(['build', '--sim']).events)!;
    expect(again.built).toEqual([]);
    // A single node's no-op build: one /cluster/resources, one file read.
    const single = project('small');
    expect(single.events(['build', '--sim']).status).toBe(0);
    const one = summaryOf(single.events(['build', '--sim']).events)!;
    expect(again.hostCalls.reads + again.hostCalls.writes).toBeLessThanOrEqual(
      one.hostCalls.reads + one.hostCalls.writes,
    );
  });

  it('a creation killed on another node than the first is recognised and recovered: its birth record is in /etc/pve', () => {
    const p = threeNodes();
    const killed = p.events(['build', '--sim', '102'], {
      PHOENIX_SIM_FAULTS: 'cmd=pct,op=create,vmid=102,mode=crash,times=1',
    });
    expect(killed.status).not.toBe(0);
    const births = path.join(p.simRoot, 'etc', 'pve', 'phoenix', 'births');
    expect(readdirSync(births)).toEqual(['102.json']);
    // The state is read through pve1; 102 is pve2's, half-made under `lock: create`.
    const again = p.run(['build', '--sim', '102']);
    expect(again.status, again.stderr).toBe(0);
    expect(`${again.stdout}${again.stderr}`).toMatch(/recovering half-made CT 102: its create/);
    expect(existsSync(births) ? readdirSync(births) : []).toEqual([]);
  });

  it('with one node down, builds the others and names the node', () => {
    const p = threeNodes();
    expect(p.run(['sim', 'init', '--nodes', '3']).status).toBe(0);
    expect(p.run(['sim', 'node', 'down', 'pve3']).status).toBe(0);
    const r = p.events(['build', '--sim']);
    const s = summaryOf(r.events)!;
    expect(r.status).toBe(1);
    expect(s.failed).toEqual([]);
    expect(s.nodesDown?.map((d) => d.node)).toEqual(['pve3']);
    const guestsBuilt = new Set(s.built.map((t) => Number(/\/(\d+):/.exec(t)![1])));
    expect(guestsBuilt.has(101) && guestsBuilt.has(102)).toBe(true);
    expect(guestsBuilt.has(103)).toBe(false);
    expect(s.blocked.some((t) => t.startsWith('lxc/103:'))).toBe(true);
    expect(s.blocked.some((t) => t.startsWith('lxc/104:'))).toBe(true);
  });
});
