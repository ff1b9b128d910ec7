import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Config, Guest } from '../../src/dsl/model.js';
import { Host } from '../../src/pve/host.js';
import { LocalRunner } from '../../src/pve/runner.js';
import { emptyHostState } from '../../src/pve/state.js';
import type { BuildEvent } from '../../src/runner/events.js';
import { History } from '../../src/runner/history.js';
import { ScriptHasher } from '../../src/runner/plan.js';
import { DEFAULT_TUNING, execute, type FailurePolicy } from '../../src/runner/scheduler.js';
import { StepError, type Target, type TargetId } from '../../src/runner/types.js';
import { tempDir } from './helpers.js';

function fakeConfig(ids: number[]): Config {
  const guests = new Map<number, Guest>();
  for (const vmid of ids) guests.set(vmid, { vmid, kind: 'lxc', name: `g${vmid}` } as Guest);
  return { file: '/nonexistent/phoenix.config.ts', node: 'pve', storages: {}, features: {}, guests };
}

interface Fake {
  targets: Target[];
  log: string[];
  running: Map<number, number>;
  overlap: string[];
}

function fake(spec: Array<[string, number, string[]]>, failing: Record<string, number> = {}): Fake {
  const done = new Set<string>();
  const log: string[] = [];
  const running = new Map<number, number>();
  const overlap: string[] = [];
  // Target ids are made by `targetId` only: the fake's short names stand in as the target's name.
  const targets: Target[] = spec.map(([id, guest, deps]) => ({
    id: id as TargetId,
    guest,
    kind: 'lxc',
    name: id,
    deps: deps as TargetId[],
    stamp: 'optional',
    inputs: () => ({ id }),
    scripts: () => [],
    observe: () => (done.has(id) ? { kind: 'ok' } : { kind: 'missing', detail: 'not built' }),
    effect: () => 'create',
    describe: () => `build ${id}`,
    locks: () => [`guest:${guest}`],
    run: async () => {
      const n = (running.get(guest) ?? 0) + 1;
      running.set(guest, n);
      if (n > 1) overlap.push(id);
      await new Promise((r) => setTimeout(r, 5));
      running.set(guest, n - 1);
      const left = failing[id] ?? 0;
      if (left > 0) {
        failing[id] = left - 1;
        // Proxmox's CLIs exit 255 when they die.
        throw StepError.fromCommand(`${id} broke`, `cmd ${id}`, {
          exitCode: 255,
          stdout: '',
          stderr:
            left > 100 ? 'fatal\n' : "can't lock file '/run/lock/lxc/pve-config-1.lock' - got timeout\n",
        });
      }
      log.push(id);
      done.add(id);
      return { changed: true };
    },
  }));
  return { targets, log, running, overlap };
}

async function run(f: Fake, policy: FailurePolicy = 'no-new', jobs = 4) {
  const dir = tempDir('phoenix-sched-');
  const events: BuildEvent[] = [];
  const config = fakeConfig([...new Set(f.targets.map((t) => t.guest))]);
  const order = f.targets.map((t) => t.id);
  const result = await execute({
    config,
    state: emptyHostState(),
    targets: new Map(f.targets.map((t) => [t.id, t])),
    order,
    forced: new Set(),
    hasher: new ScriptHasher(config.file),
    host: new Host(new LocalRunner('test', dir)),
    jobs,
    policy,
    allowReplace: false,
    history: new History(path.join(dir, '.phoenix')),
    emit: (e) => events.push(e),
    interrupt: { requested: false },
    tuning: { ...DEFAULT_TUNING, retryBaseMs: 1 },
  });
  return { result, events };
}

describe('scheduler', () => {
  it('runs in dependency order, one step per guest at a time', async () => {
    const f = fake([
      ['a1', 1, []],
      ['a2', 1, ['a1']],
      ['a3', 1, ['a1']],
      ['b1', 2, []],
      ['b2', 2, ['b1', 'a2']],
    ]);
    const { result } = await run(f);
    expect(result.failed).toEqual([]);
    expect(f.log.indexOf('a1')).toBeLessThan(f.log.indexOf('a2'));
    expect(f.log.indexOf('a2')).toBeLessThan(f.log.indexOf('b2'));
    expect(f.log.indexOf('b1')).toBeLessThan(f.log.indexOf('b2'));
    expect(f.overlap).toEqual([]);
    expect(result.built.sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
  });

  it('stops starting new work after a failure by default', async () => {
    const f = fake(
      [
        ['a1', 1, []],
        ['a2', 1, ['a1']],
        ['b1', 2, []],
        ['b2', 2, ['b1']],
        ['b3', 2, ['b2']],
      ],
      { a1: 1000 },
    );
    const { result, events } = await run(f, 'no-new', 1);
    expect(result.failed.map((x) => [x.target, x.reason])).toEqual([['a1', 'task-failed']]);
    expect(events.filter((e) => e.type === 'retry')).toEqual([]);
    expect(result.blocked).toEqual(['a2']);
    expect(f.log).not.toContain('b3');
  });

  it('with keep-going finishes the independent branches', async () => {
    const f = fake(
      [
        ['a1', 1, []],
        ['a2', 1, ['a1']],
        ['b1', 2, []],
        ['b2', 2, ['b1']],
      ],
      { a1: 1000 },
    );
    const { result } = await run(f, 'continue', 1);
    expect(result.failed.map((x) => x.target)).toEqual(['a1']);
    expect(f.log.sort()).toEqual(['b1', 'b2']);
  });

  it('retries lock time-outs with backoff', async () => {
    const f = fake([['a1', 1, []]], { a1: 2 });
    const { result, events } = await run(f);
    expect(result.built).toEqual(['a1']);
    expect(events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.reason)).toEqual([
      'locked',
      'locked',
    ]);
  });

  it('skips a target that is fresh when its turn comes', async () => {
    const f = fake([['a1', 1, []]]);
    f.targets[0]!.observe = () => ({ kind: 'ok' });
    const { result } = await run(f);
    expect(result.fresh).toEqual(['a1']);
    expect(f.log).toEqual([]);
  });
});
