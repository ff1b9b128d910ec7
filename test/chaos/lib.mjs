// Shared by the chaos campaigns (test/chaos/*.chaos.mjs): a throw-away project with its own
// simulated host, the real CLI in a child process, and readers for what the host looks like
// afterwards (guests, `lock:` lines, the build lock, the call log). Plain Node, no test runner:
// the campaigns run for many minutes and report figures, they are not part of `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin', 'phoenix.js');
export const FLEET = path.join(ROOT, 'test', 'fixtures', 'engine', 'fleet');

/** A seeded PRNG (mulberry32): the campaigns are repeatable for a seed. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Copies a fixture into a temp folder; its simulated host lives in `<dir>/.phoenix/sim`. */
export function project(fixture = FLEET, prefix = 'phoenix-chaos-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cpSync(fixture, dir, { recursive: true });
  const simRoot = path.join(dir, '.phoenix', 'sim');
  return {
    dir,
    simRoot,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Runs `phoenix <args>` in `dir`. `killAfterMs` sends SIGKILL to Phoenix itself (not to the
 * Proxmox commands it started: they run in their own process groups, as they would on a host
 * whose operator's laptop died).
 */
export function phoenix(args, { cwd, env = {}, killAfterMs } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, PHOENIX_SIM_SPEED: '0', PHOENIX_RETRY_BASE_MS: '10', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    let timer;
    if (killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ args, status, signal, stdout, stderr, ms: Date.now() - started, pid: child.pid });
    });
  });
}

export function callLog(simRoot) {
  const file = path.join(simRoot, 'calls.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** Every guest conf on the simulated host: vmid → { kind, text, lock, template }. */
export function guests(simRoot) {
  const out = new Map();
  const nodes = path.join(simRoot, 'etc', 'pve', 'nodes');
  if (!existsSync(nodes)) return out;
  for (const node of readdirSync(nodes)) {
    for (const kind of ['lxc', 'qemu-server']) {
      const dir = path.join(nodes, node, kind);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) {
        if (!f.endsWith('.conf')) continue;
        const text = readFileSync(path.join(dir, f), 'utf8');
        // Only the main section counts (snapshot sections follow the first `[name]` line).
        const main = text.split(/^\[/m)[0];
        const lock = /^lock: (\S+)$/m.exec(main)?.[1];
        out.set(Number(f.replace('.conf', '')), {
          kind: kind === 'lxc' ? 'lxc' : 'vm',
          text,
          lock,
          template: /^template: 1$/m.test(main),
        });
      }
    }
  }
  return out;
}

export const BUILD_LOCK = path.join('run', 'lock', 'phoenix-build.lock');

export function buildLock(simRoot) {
  const file = path.join(simRoot, BUILD_LOCK);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

const CREATES = new Set(['create', 'clone']);

/** The new guest's VMID of a creating call (`pct create 101 ...`, `pct clone 900 101`), else undefined. */
export function createdId(call) {
  if (call.cmd !== 'pct' && call.cmd !== 'qm') return undefined;
  const [sub, a, b] = call.args;
  if (sub === 'create') return Number(a);
  if (sub === 'clone') return Number(b);
  return undefined;
}

/** The VM whose boot disk a call imports (`qm set 9000 --scsi0 local-lvm:0,import-from=…`). */
export function importedId(call) {
  if (call.cmd !== 'qm' || call.args[0] !== 'set') return undefined;
  return call.args.some((a) => a.includes('import-from=')) ? Number(call.args[1]) : undefined;
}

export function destroyedId(call) {
  if ((call.cmd === 'pct' || call.cmd === 'qm') && call.args[0] === 'destroy') return Number(call.args[1]);
  return undefined;
}

/**
 * Classifies every destroy in the call log. A destroy is a *recovery* when the guest's last
 * creating call before it did not succeed (failed or killed, or for a VM made from an image its
 * disk import: a half-made guest Phoenix made itself); it is a *replacement* (a guest lost)
 * when the guest had been made successfully.
 * A destroy of a guest no creating call made is a guest Phoenix was never asked to touch.
 */
export function classifyDestroys(calls) {
  const lastCreate = new Map();
  const recoveries = [];
  const replacements = [];
  for (const c of calls) {
    const created = createdId(c);
    if (created !== undefined && CREATES.has(c.args[0])) lastCreate.set(created, c);
    // A VM made from a cloud image takes a second call to import its boot disk: when that one
    // fails or is killed, the creation did not succeed either (the VM is half-made).
    const imported = importedId(c);
    if (imported !== undefined && lastCreate.has(imported) && (c.exit !== 0 || c.signal))
      lastCreate.set(imported, c);
    const destroyed = destroyedId(c);
    if (destroyed === undefined) continue;
    const made = lastCreate.get(destroyed);
    const entry = {
      vmid: destroyed,
      exit: c.exit,
      made: made ? `${made.cmd} ${made.args.slice(0, 3).join(' ')}` : null,
    };
    if (made && (made.exit !== 0 || made.signal)) recoveries.push(entry);
    else replacements.push(entry);
    if (c.exit === 0) lastCreate.delete(destroyed);
  }
  return { recoveries, replacements };
}

/** Declared VMIDs of the fleet fixture, read from `phoenix check --json`. */
export async function declared(dir) {
  const r = await phoenix(['check', '--json'], { cwd: dir });
  const out = JSON.parse(r.stdout);
  if (!out.ok) throw new Error(`fixture invalid: ${r.stdout}`);
  return out.guests.map((g) => ({ vmid: g.vmid, template: g.template, kind: g.kind }));
}

/**
 * Plain re-runs until `build --dry-run --exit-code` says nothing is stale (at most `max`).
 * Returns how many re-runs it took, or undefined when it never converged.
 */
export async function converge(p, env, max = 5) {
  const outputs = [];
  for (let n = 0; n <= max; n++) {
    const q = await phoenix(['build', '--sim', '--dry-run', '--exit-code'], { cwd: p.dir, env });
    if (q.status === 0) return { reruns: n, outputs };
    if (n === max) break;
    const r = await phoenix(['build', '--sim'], { cwd: p.dir, env });
    outputs.push(r);
  }
  return { reruns: undefined, outputs };
}

/** Checks the converged host against the fleet: every declared guest, templates converted, no locks. */
export function audit(simRoot, fleet) {
  const host = guests(simRoot);
  const problems = [];
  for (const g of fleet) {
    const h = host.get(g.vmid);
    if (!h) problems.push(`guest ${g.vmid} missing`);
    else if (g.template && !h.template) problems.push(`guest ${g.vmid} is not a template`);
  }
  for (const [vmid, h] of host) {
    if (!fleet.some((g) => g.vmid === vmid)) problems.push(`undeclared guest ${vmid} on the host`);
    if (h.lock) problems.push(`guest ${vmid} left with lock: ${h.lock}`);
  }
  if (buildLock(simRoot) !== undefined) problems.push('build lock left behind');
  return problems;
}

export function locksOf(simRoot) {
  return [...guests(simRoot)].filter(([, h]) => h.lock).map(([vmid, h]) => `${vmid}:${h.lock}`);
}

/** Lines of Phoenix's output that talk about recovering from a half-made guest or a lock. */
export function recoveryMessages(text) {
  return text
    .split('\n')
    .filter((l) => /half-made|left behind|unlock|took over|was locked|stale lock|recover/i.test(l))
    .map((l) => l.trim());
}

/** Replaces the block between `<!-- name:begin -->` and `<!-- name:end -->` in a file. */
export function writeBlock(file, name, body) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  const block = `${begin}\n${body.trim()}\n${end}`;
  const next =
    i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text}\n${block}\n`;
  writeFileSync(file, next);
}

export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

export async function pool(items, limit, job) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await job(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The guest outside the config that every campaign plants on the host and expects untouched. */
export const FOREIGN = 555;

const readJson = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined);

/** Runs one of the simulator's commands directly (not through Phoenix). */
export function simCmd(p, cmd, args) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin', 'sim', cmd), ...args], {
    cwd: p.dir,
    env: { ...process.env, PHOENIX_SIM_ROOT: p.simRoot, PHOENIX_SIM_SPEED: '0' },
    encoding: 'utf8',
  });
}

/** Plants CT 555 (not in the config) on the simulated host; returns its conf text. */
export function plantForeign(p) {
  const made = simCmd(p, 'pct', [
    'create',
    String(FOREIGN),
    'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
    '--rootfs',
    'local-lvm:4',
    '--hostname',
    'foreign',
  ]);
  if (made.status !== 0) throw new Error(`cannot create the foreign guest: ${made.stderr}`);
  return guests(p.simRoot).get(FOREIGN)?.text;
}

const STACK = /^\s+at .+:\d+:\d+\)?$/m;

/**
 * What every campaign counts once a run's re-runs are over: the destroys classified, whether the
 * foreign guest was touched, the host's audit, the locks left, what Phoenix said about
 * recovering (`said`) and any stack trace in `text`. `problems` holds the campaign's own.
 */
export function judgeRun({ p, fleet, before, foreignBefore, reruns, problems, said, text }) {
  const calls = callLog(p.simRoot).slice(before);
  const { recoveries, replacements } = classifyDestroys(calls);
  const foreignTouched =
    guests(p.simRoot).get(FOREIGN)?.text !== foreignBefore ||
    calls.some((x) => (x.cmd === 'pct' || x.cmd === 'qm') && x.args.includes(String(FOREIGN)));
  problems.push(...audit(p.simRoot, [...fleet, { vmid: FOREIGN, template: false }]));
  return {
    converged: reruns !== undefined && problems.length === 0,
    recoveries,
    replacements,
    foreignTouched,
    locksAfterConvergence: locksOf(p.simRoot),
    buildLockAfterConvergence: buildLock(p.simRoot) !== undefined,
    recoveryMessages: recoveryMessages(said),
    stackTrace: STACK.test(text),
    problems,
    dir: p.dir,
  };
}

/** Removes a run's folder when it went right; otherwise keeps it with `outputs` (file → text). */
export function keepIfWrong(p, result, outputs) {
  if (result.converged && !result.replacements.length && !result.foreignTouched && !result.stackTrace) {
    p.remove();
    return;
  }
  for (const [file, text] of Object.entries(outputs)) writeFileSync(path.join(p.dir, file), text);
}

/** The figures of a run that threw before it could be judged. */
export function brokenRun(p, error, fields) {
  return {
    ...fields,
    converged: false,
    problems: [String(error)],
    dir: p.dir,
    replacements: [],
    recoveries: [],
  };
}

/**
 * The figures every campaign reports from its runs, and their table rows (by name, so each
 * campaign lays out its own table). `failure(r)` adds a campaign's own fields to a failing
 * run's entry.
 */
export function commonFigures(results, started, failure = () => ({})) {
  const converged = results.filter((r) => r.converged);
  const hist = {};
  for (const r of converged) hist[r.reruns] = (hist[r.reruns] ?? 0) + 1;
  const sum = (f) => results.reduce((a, r) => a + (f(r) ?? 0), 0);
  const n = results.length;
  const figures = {
    converged: converged.length,
    convergedPct: Math.round((1000 * converged.length) / n) / 10,
    rerunsHistogram: hist,
    guestsLostOrReplaced: sum((r) => r.replacements.length),
    foreignGuestTouched: results.filter((r) => r.foreignTouched).length,
    halfMadeRecovered: sum((r) => r.recoveries.length),
    locksAfterConvergence: sum((r) => r.locksAfterConvergence?.length),
    buildLocksAfterConvergence: results.filter((r) => r.buildLockAfterConvergence).length,
    runsWithStackTraces: results.filter((r) => r.stackTrace).length,
    failures: results
      .filter((r) => !r.converged || r.replacements.length || r.foreignTouched)
      .map((r) => ({
        seed: r.seed,
        problems: r.problems,
        replacements: r.replacements,
        ...failure(r),
        dir: r.dir,
      })),
    minutes: Math.round((Date.now() - started) / 600) / 100,
    date: new Date().toISOString(),
  };
  const h = Object.entries(hist)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const rows = {
    converged: `| converged (nothing stale after plain re-runs, every guest present, no locks) | **${figures.converged}/${n} (${figures.convergedPct} %)** |`,
    reruns: (label) => `| ${label} (count: runs) | ${h || '—'} |`,
    lost: `| guests lost or replaced | **${figures.guestsLostOrReplaced}** |`,
    foreign: `| foreign guest (CT ${FOREIGN}) touched | **${figures.foreignGuestTouched}** |`,
    recoveries: `| half-made guests destroyed and re-made (recoveries) | ${figures.halfMadeRecovered} |`,
    locksLeft: `| \`lock:\` lines / build locks left after convergence | **${figures.locksAfterConvergence} / ${figures.buildLocksAfterConvergence}** |`,
    stackTraces: `| runs printing a stack trace | ${figures.runsWithStackTraces} |`,
  };
  return { figures, rows, sum };
}

/**
 * One run of a fault campaign: a fresh host with the foreign guest, a build with
 * PHOENIX_SIM_FAULTS=`faults`, then plain re-runs until nothing is stale; returns the figures.
 * The project folder is kept (with faulty.out and reruns.out) when the run went wrong.
 */
export async function faultRun({
  seed,
  fleet,
  fixture,
  faults,
  keepGoing = false,
  label = String(seed),
  maxReruns = 5,
}) {
  const p = project(fixture, `phoenix-fault-${label.replace(/\W+/g, '-')}-`);
  const env = { PHOENIX_SIM_ROOT: p.simRoot };
  try {
    const foreignBefore = plantForeign(p);
    const before = callLog(p.simRoot).length;
    const faulty = await phoenix(['build', '--sim', ...(keepGoing ? ['--keep-going'] : [])], {
      cwd: p.dir,
      env: { ...env, PHOENIX_SIM_FAULTS: faults },
    });
    const faultyCalls = callLog(p.simRoot).slice(before);
    const fired = readJson(path.join(p.simRoot, 'sim', 'faults-state.json'))?.fired ?? {};
    const injected = Object.values(fired).reduce((a, b) => a + b, 0);
    const locksAfterFault = locksOf(p.simRoot);
    const buildLockAfterFault = buildLock(p.simRoot) !== undefined;

    const c = await converge(p, env, maxReruns);
    const rerunText = c.outputs.map((o) => o.stdout + o.stderr).join('\n');
    const result = {
      seed,
      label,
      faults,
      keepGoing,
      faultyExit: faulty.status,
      faultyCalls: faultyCalls.length,
      failedCalls: faultyCalls.filter((x) => x.exit !== 0).length,
      crashedCalls: faultyCalls.filter((x) => x.signal).length,
      injected,
      locksAfterFault,
      buildLockAfterFault,
      reruns: c.reruns,
      ...judgeRun({
        p,
        fleet,
        before,
        foreignBefore,
        reruns: c.reruns,
        problems: c.reruns === undefined ? [`did not converge in ${maxReruns} re-runs`] : [],
        said: rerunText,
        text: faulty.stderr + rerunText,
      }),
    };
    keepIfWrong(p, result, {
      'faulty.out': `${faulty.stdout}\n--- stderr\n${faulty.stderr}`,
      'reruns.out': rerunText,
    });
    return result;
  } catch (error) {
    return brokenRun(p, error, { seed, label });
  }
}
