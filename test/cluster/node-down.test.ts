// A node that cannot be reached (ssh exits 255: here a real ssh to a closed port) blocks its
// guests and what depends on them, with the node named as the reason; the other nodes' work runs,
// even under the stop-on-failure policy, and the result names the node. `-j` counts per node.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Config, Guest } from '../../src/dsl/model.js';
import { Host } from '../../src/pve/host.js';
import { type CommandRunner, LocalRunner, SshRunner } from '../../src/pve/runner.js';
import { emptyHostState } from '../../src/pve/state.js';
import type { BuildEvent } from '../../src/runner/events.js';
import { History } from '../../src/runner/history.js';
import { ScriptHasher } from '../../src/runner/plan.js';
import { DEFAULT_TUNING, execute } from '../../src/runner/scheduler.js';
import { StepError, type Target, type TargetId } from '../../src/runner/types.js';
import { tempDir } from '../engine/helpers.js';

/** Guests (vmid → node); `pve2` is reached over ssh at a port where nothing listens, unless `up`. */
function cluster(nodes: Record<number, string>, up = false) {
  const dir = tempDir('phoenix-node-down-');
  const guests = new Map<number, Guest>();
  for (const [vmid, node] of Object.entries(nodes))
    guests.set(Number(vmid), { vmid: Number(vmid), kind: 'lxc', name: `g${vmid}`, node } as Guest);
  const config: Config = {
    file: '/nonexistent/phoenix.config.ts',
    node: 'pve1',
    nodes: { pve1: 'local', pve2: 'ssh://root@127.0.0.1:1' },
    storages: {},
    features: {},
    guests,
  };
  const calls = { reads: 0, writes: 0 };
  const runners = new Map<string, CommandRunner>([
    ['pve1', new LocalRunner('pve1', dir, {}, calls)],
    [
      'pve2',
      up
        ? new LocalRunner('pve2', dir, {}, calls)
        : new SshRunner(
            { user: 'root', host: '127.0.0.1', port: 1 },
            { controlDir: dir },
            { attempts: 1, delayMs: 0 },
            calls,
          ),
    ],
  ]);
  return { dir, config, host: new Host(runners.get('pve1')!, runners) };
}

/** A step that runs one command on its guest's node, as every target does through ctx.host. */
function step(
  id: string,
  guest: number,
  deps: string[],
  ran: string[],
  active?: Map<string, number>,
): Target {
  let done = false;
  return {
    id: id as TargetId,
    guest,
    kind: 'lxc',
    name: id,
    deps: deps as TargetId[],
    stamp: 'none',
    inputs: () => ({ id }),
    scripts: () => [],
    observe: () => (done ? { kind: 'ok' } : { kind: 'missing', detail: 'not built' }),
    effect: () => 'create',
    describe: () => `build ${id}`,
    locks: () => [`guest:${guest}`],
    run: async (ctx) => {
      const node = ctx.host.node ?? '?';
      active?.set(node, (active.get(node) ?? 0) + 1);
      const r = await ctx.host.run('sleep', ['0.05']);
      if (active) ran.push(`${id}@${node}:${active.get(node)}`);
      active?.set(node, (active.get(node) ?? 1) - 1);
      if (r.exitCode !== 0) throw new StepError(`${id} failed`, 'sleep', r.stderr);
      if (!active) ran.push(id);
      done = true;
      return { changed: true };
    },
  };
}

async function build(c: ReturnType<typeof cluster>, targets: Target[], jobs = 4) {
  const events: BuildEvent[] = [];
  const result = await execute({
    config: c.config,
    state: emptyHostState(),
    targets: new Map(targets.map((t) => [t.id, t])),
    order: targets.map((t) => t.id),
    forced: new Set(),
    hasher: new ScriptHasher(c.config.file),
    host: c.host,
    jobs,
    tuning: DEFAULT_TUNING,
    policy: 'no-new',
    allowReplace: false,
    history: new History(path.join(c.dir, '.phoenix')),
    emit: (e) => events.push(e),
    interrupt: { requested: false },
  });
  return { result, events };
}

describe('a node down', () => {
  it('blocks its guests and their dependents with the node as reason; other nodes build', async () => {
    const c = cluster({ 101: 'pve1', 102: 'pve2', 103: 'pve1', 104: 'pve1', 105: 'pve2' });
    const ran: string[] = [];
    const { result, events } = await build(c, [
      step('a', 102, [], ran),
      step('b', 101, [], ran),
      step('c', 103, ['a'], ran),
      step('d', 104, ['b'], ran),
      step('e', 105, [], ran),
    ]);
    expect(ran.sort()).toEqual(['b', 'd']);
    expect(result.failed).toEqual([]);
    expect(result.blocked.sort()).toEqual(['a', 'c', 'e']);
    expect(result.nodesDown.map((d) => d.node)).toEqual(['pve2']);
    expect(result.nodesDown[0]!.reason).toMatch(/connect to host 127\.0\.0\.1 port 1/);
    const blocked = events.filter((e) => e.type === 'blocked') as Array<{ target: string; because: string }>;
    for (const b of blocked) expect(b.because).toMatch(/^node pve2 \(unreachable: /);
    expect(c.host.downNodes.has('pve1')).toBe(false);
  });

  it('gives each node its own -j slots', async () => {
    const c = cluster({ 101: 'pve1', 102: 'pve1', 103: 'pve2', 104: 'pve2' }, true);
    const ran: string[] = [];
    const active = new Map<string, number>();
    let most = 0;
    const watch = setInterval(() => {
      most = Math.max(
        most,
        [...active.values()].reduce((a, b) => a + b, 0),
      );
    }, 5);
    await build(
      c,
      [101, 102, 103, 104].map((g) => step(`s${g}`, g, [], ran, active)),
      1,
    );
    clearInterval(watch);
    // -j 1: never two steps at once on a node, but both nodes at once.
    expect(ran.map((r) => r.split(':')[1])).toEqual(['1', '1', '1', '1']);
    expect(most).toBe(2);
  });
});
