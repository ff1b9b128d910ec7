// What the verbs show for a config with several nodes: the graph draws a subgraph per node and
// its JSON names each guest's node; a single-node config's graph is unchanged.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { project } from '../engine/helpers.js';

function withNodes() {
  const p = project('small');
  const file = path.join(p.dir, 'phoenix.config.ts');
  const text = readFileSync(file, 'utf8')
    .replace("  node: 'pve',", "  nodes: { pve1: 'local', pve2: 'local' },")
    .replace("      name: 'web',", "      name: 'web',\n      node: 'pve2',");
  writeFileSync(file, text);
  return p;
}

describe('outputs of a cluster config', () => {
  it('graph draws one subgraph per node, each guest inside its node', () => {
    const r = withNodes().run(['graph', '--no-state']);
    expect(r.status, r.stderr).toBe(0);
    // Which node subgraph each guest is drawn in.
    const inNode = new Map<string, string>();
    let node = '';
    for (const line of r.stdout.split('\n')) {
      const open = /subgraph node_(\w+)\["node \1"\]/.exec(line);
      if (open) node = open[1]!;
      else if (line.trim() === 'end') node = '';
      const guest = /^\s+(g\d+)\[/.exec(line);
      if (guest) inNode.set(guest[1]!, node);
    }
    expect(Object.fromEntries(inNode)).toEqual({ g103: 'pve2', g104: 'pve1', g900: 'pve1' });
  });

  it('graph --format json names each guest’s node', () => {
    const r = withNodes().run(['graph', '--no-state', '--format', 'json']);
    const json = JSON.parse(r.stdout) as { guests: Array<{ vmid: number; node?: string }> };
    expect(json.guests.map((g) => [g.vmid, g.node])).toEqual([
      [103, 'pve2'],
      [104, 'pve1'],
      [900, 'pve1'],
    ]);
  });

  it('a single-node config’s graph has no node subgraph and no node field', () => {
    const p = project('small');
    expect(p.run(['graph', '--no-state']).stdout).not.toContain('subgraph');
    const json = JSON.parse(p.run(['graph', '--no-state', '--format', 'json']).stdout) as {
      guests: Array<Record<string, unknown>>;
    };
    expect(json.guests.every((g) => !('node' in g))).toBe(true);
  });
});
