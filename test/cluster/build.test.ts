// A config that declares its nodes builds through the cluster host: commands on each guest's node,
// the build lock in /etc/pve (released after), and a no-op rebuild that costs what a single
// node's costs. Here the cluster has one node (today's simulator); cluster-sim.test.ts has three.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { project } from '../engine/helpers.js';

const summaryOf = (events: Array<Record<string, unknown>>) =>
  events.find((e) => e.type === 'summary') as
    | { built: string[]; failed: unknown[]; hostCalls: { reads: number; writes: number } }
    | undefined;

/** The `small` fixture, with `nodes` instead of the single `node`. */
function declaredNodes(nodes: string) {
  const p = project('small');
  const file = path.join(p.dir, 'phoenix.config.ts');
  writeFileSync(file, readFileSync(file, 'utf8').replace("  node: 'pve',", `  nodes: ${nodes},`));
  return p;
}

describe('build with declared nodes', () => {
  it('builds, releases the cluster lock, and a no-op rebuild costs what a single node costs', () => {
    const p = declaredNodes("{ pve: 'local' }");
    const first = p.events(['build', '--sim']);
    expect(first.status, first.stderr).toBe(0);
    expect(summaryOf(first.events)?.failed).toEqual([]);
    expect(existsSync(path.join(p.simRoot, 'etc/pve/priv/phoenix-build.lock'))).toBe(false);
    const again = summaryOf(p.events(['build', '--sim']).events);
    // The same host, declared the single-node way.
    const file = path.join(p.dir, 'phoenix.config.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace("  nodes: { pve: 'local' },", "  node: 'pve',"));
    const single = summaryOf(p.events(['build', '--sim']).events);
    expect(again?.built).toEqual([]);
    expect(single?.built).toEqual([]);
    expect(again?.hostCalls).toEqual(single?.hostCalls);
  });

  it('refuses to start while another build holds the cluster lock, naming it', () => {
    const p = declaredNodes("{ pve: 'local' }");
    const lock = path.join(p.simRoot, 'etc/pve/priv/phoenix-build.lock');
    expect(p.run(['sim', 'init']).status).toBe(0);
    // A live build of another machine, taken through another node of the cluster.
    mkdirSync(path.dirname(lock), { recursive: true });
    writeFileSync(
      lock,
      JSON.stringify({ pid: 1, host: 'admin-laptop', start: '2026-12-08T00:00:00Z', node: 'pve2' }),
    );
    const r = p.run(['build', '--sim']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(
      'another build holds /etc/pve/priv/phoenix-build.lock on the cluster (taken through node pve2): pid 1 on admin-laptop',
    );
  });
});
