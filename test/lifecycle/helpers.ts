// Runs the real CLI against a fresh simulator state folder, from a temp copy of a project:
// the top-level fleet (phoenix.config.ts with its features/ and apps/) or a lifecycle fixture.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inprocOf, seedIn } from '../engine/helpers.js';
import type { BuildOptions, Built, InProc } from '../engine/inproc.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'phoenix.js');
const SIM_BIN = path.join(ROOT, 'bin', 'sim');

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export interface Call {
  cmd: string;
  args: string[];
  exit: number;
}

export interface Project {
  dir: string;
  simRoot: string;
  run(args: string[], opts?: { env?: Record<string, string>; input?: string }): Run;
  sim(cmd: string, args: string[]): Run;
  calls(): Call[];
  /** A host file of the simulated node (`/etc/subuid`), undefined when absent. */
  hostFile(hostPath: string): string | undefined;
  edit(file: string, from: string | RegExp, to: string): void;
  /** The build pipeline in this process on this project's simulated host (see engine/inproc.ts). */
  inproc(env?: Record<string, string>): Promise<InProc>;
  /** Builds in this process, failing the test when the build fails: a host to test on, made fast. */
  seed(refs?: string[], opts?: BuildOptions, env?: Record<string, string>): Promise<Built>;
}

/** `fixture` = a folder under test/fixtures/lifecycle, or `top` for the repository's own fleet. */
export function project(fixture: string): Project {
  const dir = mkdtempSync(path.join(tmpdir(), `phoenix-lc-${fixture}-`));
  if (fixture === 'top') {
    for (const f of ['phoenix.config.ts', 'features', 'apps'])
      cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true });
  } else {
    cpSync(path.join(ROOT, 'test', 'fixtures', 'lifecycle', fixture), dir, { recursive: true });
  }
  const simRoot = path.join(dir, '.phoenix', 'sim');
  const env = {
    ...process.env,
    PHOENIX_SIM_ROOT: simRoot,
    PHOENIX_SIM_SPEED: '0',
    PHOENIX_SIM_AGENT_DELAY: '0',
    PHOENIX_RETRY_BASE_MS: '10',
  };
  return {
    dir,
    simRoot,
    run(args, opts = {}) {
      const r = spawnSync(process.execPath, [BIN, ...args], {
        cwd: dir,
        env: { ...env, ...(opts.env ?? {}) },
        encoding: 'utf8',
        input: opts.input ?? '',
      });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    sim(cmd, args) {
      const r = spawnSync(process.execPath, [path.join(SIM_BIN, cmd), ...args], {
        cwd: dir,
        env,
        encoding: 'utf8',
      });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    calls() {
      let text = '';
      try {
        text = readFileSync(path.join(simRoot, 'calls.jsonl'), 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Call);
    },
    hostFile(hostPath) {
      try {
        return readFileSync(path.join(simRoot, hostPath), 'utf8');
      } catch {
        return undefined;
      }
    },
    edit(file, from, to) {
      const f = path.join(dir, file);
      const text = readFileSync(f, 'utf8');
      const next = text.replace(from, to);
      if (next === text) throw new Error(`edit of ${file} changed nothing (${String(from)})`);
      writeFileSync(f, next);
    },
    inproc: (extra) => inprocOf(dir, simRoot, extra),
    seed: (refs, opts, extra) => seedIn(dir, simRoot, refs, opts, extra),
  };
}

/** A call that cannot change the host. */
export function isRead(c: { cmd: string; args: string[] }): boolean {
  if (c.cmd === 'pvesh') return c.args[0] === 'get';
  if (c.cmd === 'pvesm') return c.args[0] === 'status' || c.args[0] === 'list';
  if (c.cmd === 'stat' || c.cmd === 'grep' || c.cmd === 'cat') return true;
  if (c.cmd === 'zfs') return c.args[0] === 'list' || c.args[0] === 'get';
  if (c.cmd === 'qm' && c.args[0] === 'guest' && c.args[1] === 'cmd') return true;
  return ['status', 'config', 'list', 'listsnapshot', 'pending'].includes(c.args[0] ?? '');
}

/** `pct <sub> <vmid>` calls, as `sub vmid` strings, in call order. */
export function guestCalls(calls: Call[], tool: 'pct' | 'qm', subs: string[]): string[] {
  return calls
    .filter((c) => c.cmd === tool && subs.includes(c.args[0] ?? ''))
    .map((c) => `${c.args[0]} ${c.args[1]}`);
}

/** Asserts a run succeeded, showing its output when it did not. */
export function ok(r: Run): Run {
  if (r.status !== 0)
    throw new Error(
      `exit ${r.status}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`,
    );
  return r;
}
