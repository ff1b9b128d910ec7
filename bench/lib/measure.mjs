// Measuring primitives: run a process and time it, count simulator calls, summarize samples.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './engine.mjs';

const PRELOAD = path.join(ROOT, 'bench/lib/rss-preload.mjs');
let app = ROOT;

/**
 * Runs Phoenix and the simulator from `dir`, a snapshot of the repository's `bin/` and `dist/`
 * taken when the benchmark started: others rebuilding `dist/` meanwhile must not change what is
 * measured half-way through.
 */
export function useApp(dir) {
  app = dir;
}
export const appRoot = () => app;

/** min / median / max of numbers (median of an even count: the mean of the middle two). */
export function stats(xs) {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

/** Runs argv, returns { wallMs, exit, stdout, stderr }. */
export function run(argv, { cwd, env = {}, input } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ wallMs, exit: code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

export function countLines(file) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text ? text.split('\n').filter(Boolean).length : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs `phoenix <args>` in `dir` against the simulated host `dir/sim` at `speed`; returns wall
 * time, exit code, output, simulator calls (lines added to calls.jsonl), the calls Phoenix itself
 * reports in its summary (these include the `grep` over /etc/pve, which is not a simulator
 * command), and Phoenix's peak RSS and CPU time.
 */
export async function phoenix(dir, args, { speed, env = {} } = {}) {
  const simRoot = path.join(dir, 'sim');
  const callsFile = path.join(simRoot, 'calls.jsonl');
  const rssFile = path.join(os.tmpdir(), `phoenix-bench-rss-${process.pid}-${Date.now()}`);
  const before = countLines(callsFile);
  const r = await run([process.execPath, '--import', PRELOAD, path.join(app, 'bin/phoenix.js'), ...args], {
    cwd: dir,
    env: {
      PHOENIX_SIM_ROOT: simRoot,
      PHOENIX_SIM_SPEED: String(speed),
      PHOENIX_BENCH_RSS_FILE: rssFile,
      ...env,
    },
  });
  const readNumber = (file) => {
    try {
      const n = Number(fs.readFileSync(file, 'utf8'));
      fs.rmSync(file);
      return n;
    } catch {
      return undefined;
    }
  };
  const rssKb = readNumber(rssFile);
  const cpuMs = readNumber(`${rssFile}.cpu`);
  const m =
    /built: (\d+), fresh: (\d+), failed: (\d+), blocked: (\d+) — [\d.]+s, (\d+) host reads, (\d+) host writes/.exec(
      r.stdout,
    );
  return {
    ...r,
    simCalls: countLines(callsFile) - before,
    reported: m
      ? { built: +m[1], fresh: +m[2], failed: +m[3], blocked: +m[4], reads: +m[5], writes: +m[6] }
      : undefined,
    rssKb,
    cpuMs,
  };
}

/** The last run's events from `.phoenix/events.jsonl` beside the config. */
export function lastRunEvents(dir) {
  let text = '';
  try {
    text = fs.readFileSync(path.join(dir, '.phoenix/events.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const events = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const last = events.at(-1)?.run;
  return events.filter((e) => e.run === last);
}

export function machine() {
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism?.() ?? cpus.length,
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAvg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
