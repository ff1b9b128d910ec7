// Runs the real CLI against a fresh simulator state folder, from a temp copy of a fixture.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BuildOptions, Built, InProc } from './inproc.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'phoenix.js');

export interface Project {
  dir: string;
  simRoot: string;
  run(args: string[], env?: Record<string, string>): { status: number; stdout: string; stderr: string };
  /** Events of a `--json` build. */
  events(
    args: string[],
    env?: Record<string, string>,
  ): { status: number; events: Array<Record<string, unknown>>; stderr: string };
  calls(): Array<{ cmd: string; args: string[]; exit: number }>;
  simCmd(cmd: string, args: string[]): { status: number; stdout: string; stderr: string };
  /** The build pipeline in this process on this project's simulated host (see inproc.ts). */
  inproc(env?: Record<string, string>): Promise<InProc>;
  /** Builds in this process, failing the test when the build fails: a host to test on, made fast. */
  seed(refs?: string[], opts?: BuildOptions, env?: Record<string, string>): Promise<Built>;
}

const made: string[] = [];
// Temp projects go when the test process ends (PHOENIX_KEEP_TMP=1 keeps them for a post-mortem).
process.on('exit', () => {
  if (process.env.PHOENIX_KEEP_TMP) return;
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A temp folder removed when the test process ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function project(fixture: string): Project {
  const dir = tempDir(`phoenix-${fixture}-`);
  cpSync(path.join(ROOT, 'test', 'fixtures', 'engine', fixture), dir, { recursive: true });
  const simRoot = path.join(dir, '.phoenix', 'sim');
  const baseEnv = {
    ...process.env,
    PHOENIX_SIM_ROOT: simRoot,
    PHOENIX_SIM_SPEED: '0',
    PHOENIX_RETRY_BASE_MS: '10',
  };
  const run = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...baseEnv, ...env },
      encoding: 'utf8',
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const simBin = process.env.PHOENIX_SIM_BIN ?? path.join(ROOT, 'bin', 'sim');
  return {
    dir,
    simRoot,
    run,
    events(args, env) {
      const r = run([...args, '--json'], env);
      const events = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return { status: r.status, events, stderr: r.stderr };
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
        .map((l) => JSON.parse(l) as { cmd: string; args: string[]; exit: number });
    },
    simCmd(cmd, args) {
      const r = spawnSync(process.execPath, [path.join(simBin, cmd), ...args], {
        cwd: dir,
        env: baseEnv,
        encoding: 'utf8',
      });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    inproc: (env) => inprocOf(dir, simRoot, env),
    seed: (refs, opts, env) => seedIn(dir, simRoot, refs, opts, env),
  };
}

/** Loaded on first use: most test files never run the pipeline in process. */
export async function inprocOf(
  dir: string,
  simRoot: string,
  env: Record<string, string> = {},
): Promise<InProc> {
  const { inproc } = await import('./inproc.js');
  return inproc(dir, simRoot, env);
}

export async function seedIn(
  dir: string,
  simRoot: string,
  refs: string[] = [],
  opts: BuildOptions = {},
  env: Record<string, string> = {},
): Promise<Built> {
  const { built } = await import('./inproc.js');
  return built(await (await inprocOf(dir, simRoot, env)).build(refs, opts));
}

/** Targets a build of `refs` would run (none: everything is fresh), planned in process. */
export async function staleTargets(p: { inproc(): Promise<InProc> }, refs: string[] = []): Promise<string[]> {
  const plan = await (await p.inproc()).plan(refs);
  if (!plan.ok) throw new Error(`cannot plan: ${plan.problems.join('; ')}`);
  return plan.steps.map((s) => s.target);
}

/** A call that cannot change the host. */
export function isRead(c: { cmd: string; args: string[] }): boolean {
  if (c.cmd === 'pvesh') return c.args[0] === 'get';
  if (c.cmd === 'pvesm') return c.args[0] === 'status' || c.args[0] === 'list';
  return ['status', 'config', 'list', 'listsnapshot', 'pending'].includes(c.args[0] ?? '');
}
