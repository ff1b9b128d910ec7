// The acceptance suite's host side: which host (the simulator, or PHOENIX_ACCEPTANCE_HOST over
// SSH), which guest ids it may touch (PHOENIX_ACCEPTANCE_VMIDS), which guests are its own (tag
// `phoenix-acceptance`), and the clean-up of its own guests.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CommandRunner, SshRunner, simRunner } from '../../src/pve/runner.js';
import { controlDir, parseHostUrl } from '../../src/pve/ssh.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const DIR = path.join(ROOT, 'test', 'acceptance');
const BIN = path.join(ROOT, 'bin', 'phoenix.js');
export const TAG = 'phoenix-acceptance';

export interface IdRange {
  first: number;
  last: number;
}

/** `99900-99999` → range; the suite needs `need` ids at least. */
export function parseRange(
  text: string,
  need: number,
): { ok: true; value: IdRange } | { ok: false; error: string } {
  const m = /^(\d+)-(\d+)$/.exec(text.trim());
  if (!m)
    return { ok: false, error: `PHOENIX_ACCEPTANCE_VMIDS=${text}: expected first-last, e.g. 99900-99999` };
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first < 100 || last > 999999999 || last < first)
    return { ok: false, error: `PHOENIX_ACCEPTANCE_VMIDS=${text}: ids must be 100-999999999, first ≤ last` };
  if (last - first + 1 < need)
    return { ok: false, error: `PHOENIX_ACCEPTANCE_VMIDS=${text}: the suite needs ${need} ids` };
  return { ok: true, value: { first, last } };
}

export interface Target {
  /** `sim` or the ssh URL. */
  label: string;
  range: IdRange;
  node: string;
  runner: CommandRunner;
  /** CLI flags naming the host, and the environment for the CLI. */
  flags: string[];
  env: Record<string, string>;
}

/** Where the suite runs, from the environment; an error string when the settings are unusable. */
export function target(need: number, env: NodeJS.ProcessEnv = process.env): Target | string {
  const host = env.PHOENIX_ACCEPTANCE_HOST;
  const node = env.PHOENIX_ACCEPTANCE_NODE ?? 'pve';
  const ids = env.PHOENIX_ACCEPTANCE_VMIDS;
  if (host && !ids)
    return 'PHOENIX_ACCEPTANCE_HOST is set but PHOENIX_ACCEPTANCE_VMIDS is not: name the guest ids the suite may use (e.g. 99900-99999)';
  const range = parseRange(ids ?? '99900-99999', need);
  if (!range.ok) return range.error;
  // GPU passthrough entries only where the host has the devices: always on the simulator.
  const gpus = env.PHOENIX_ACCEPTANCE_GPUS ?? (host ? '0' : '1');
  const cliEnv = {
    PHOENIX_ACCEPTANCE_VMIDS: `${range.value.first}-${range.value.last}`,
    PHOENIX_ACCEPTANCE_NODE: node,
    PHOENIX_ACCEPTANCE_GPUS: gpus,
  };
  if (!host) {
    const simRoot = path.join(mkdtempSync(path.join(tmpdir(), 'phoenix-acceptance-')), 'sim');
    const speed = env.PHOENIX_SIM_SPEED ?? '0';
    return {
      label: 'simulator',
      range: range.value,
      node,
      runner: simRunner(simRoot, { PHOENIX_SIM_SPEED: speed }),
      flags: ['--sim'],
      env: { ...cliEnv, PHOENIX_SIM_ROOT: simRoot, PHOENIX_SIM_SPEED: speed },
    };
  }
  const t = parseHostUrl(host);
  if (!t.ok) return `PHOENIX_ACCEPTANCE_HOST: ${t.error}`;
  const dir = controlDir(process.env.XDG_RUNTIME_DIR);
  if (!dir.ok) return dir.error;
  const configFile = env.PHOENIX_SSH_CONFIG;
  return {
    label: host,
    range: range.value,
    node,
    runner: new SshRunner(t.value, { controlDir: dir.value, ...(configFile ? { configFile } : {}) }),
    flags: ['--host', host],
    env: cliEnv,
  };
}

export interface Guest {
  vmid: number;
  kind: 'lxc' | 'qemu';
  status: string;
  /** The config carries the suite's tag. */
  own: boolean;
}

async function pveshList(t: Target, kind: 'lxc' | 'qemu'): Promise<Array<Record<string, unknown>>> {
  const r = await t.runner.run('pvesh', ['get', `/nodes/${t.node}/${kind}`, '--output-format', 'json']);
  if (r.exitCode !== 0)
    throw new Error(`pvesh get /nodes/${t.node}/${kind} on ${t.label}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Array<Record<string, unknown>>;
}

/** Guests whose id is in the range, with whether they are the suite's own (tag in their config). */
export async function guestsInRange(t: Target): Promise<Guest[]> {
  const out: Guest[] = [];
  for (const kind of ['lxc', 'qemu'] as const) {
    for (const g of await pveshList(t, kind)) {
      const vmid = Number(g.vmid);
      if (vmid < t.range.first || vmid > t.range.last) continue;
      const conf = (await t.runner.readFile(confPath(t.node, kind, vmid))) ?? '';
      // The main section ends at the first `[snapshot]`/`[pve:pending]` header.
      const main = conf.split(/^\[/m)[0] ?? '';
      const tags = /^tags:\s*(.*)$/m.exec(main)?.[1]?.split(/[;, ]+/) ?? [];
      out.push({ vmid, kind, status: String(g.status ?? ''), own: tags.includes(TAG) });
    }
  }
  return out.sort((a, b) => a.vmid - b.vmid);
}

export function confPath(node: string, kind: 'lxc' | 'qemu', vmid: number): string {
  return `/etc/pve/nodes/${node}/${kind === 'lxc' ? 'lxc' : 'qemu-server'}/${vmid}.conf`;
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

let running: ReturnType<typeof spawn> | undefined;

/** Runs the phoenix CLI on the suite's config, against the target. */
export function phoenix(
  t: Target,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, ...t.flags], {
      cwd: DIR,
      env: { ...process.env, ...t.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running = child;
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c) => {
      stdout += c;
    });
    child.stderr?.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code) => {
      if (running === child) running = undefined;
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

/** Stops a phoenix run of the suite that is still going (Ctrl-C semantics: it lets steps finish). */
export async function stopRunning(): Promise<void> {
  const child = running;
  if (!child || child.exitCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  await done;
  clearTimeout(timer);
}

/**
 * After an interrupt: hands the clean-up to a detached process (cleanup.mjs), which outlives this
 * one, waits for the running phoenix to stop, then destroys every guest id of the suite's config.
 * `signalChild`: the interrupt reached this process only (SIGTERM), not the phoenix run.
 */
export function handOverCleanUp(t: Target, ids: number[], signalChild: boolean): string {
  const child = running?.exitCode === null ? running : undefined;
  if (child && signalChild) child.kill('SIGINT');
  const job = { waitPid: child?.pid ?? 0, ids: ids.map(String), flags: t.flags, env: t.env, cwd: DIR };
  // Its own log: this process's output pipe closes when the test runner exits.
  const logFile =
    process.env.PHOENIX_ACCEPTANCE_CLEANUP_LOG ??
    path.join(tmpdir(), `phoenix-acceptance-cleanup-${process.pid}.log`);
  const fd = openSync(logFile, 'a');
  writeSync(
    fd,
    `acceptance: interrupted; cleaning up ${ids.join(' ')} once phoenix (pid ${job.waitPid}) has stopped\n`,
  );
  spawn(process.execPath, [path.join(DIR, 'cleanup.mjs'), JSON.stringify(job)], {
    detached: true,
    stdio: ['ignore', fd, fd],
  }).unref();
  return logFile;
}

/**
 * Destroys the suite's own guests in the range (tagged), newest first so linked clones go before
 * their templates; refuses nothing else. Returns what it destroyed.
 */
export async function cleanUp(t: Target, log: (line: string) => void): Promise<number[]> {
  const own = (await guestsInRange(t)).filter((g) => g.own);
  if (!own.length) return [];
  const ids = own.map((g) => g.vmid);
  log(`acceptance: destroying own guests on ${t.label}: ${ids.join(' ')}`);
  const r = await phoenix(t, ['destroy', '--yes', ...ids.map(String)]);
  // Whatever phoenix destroy left (a half-made guest still locked, say): the plain commands.
  for (const g of (await guestsInRange(t)).filter((x) => x.own).reverse()) {
    const cmd = g.kind === 'lxc' ? 'pct' : 'qm';
    const id = String(g.vmid);
    await t.runner.run(cmd, ['unlock', id], { mutating: true });
    await t.runner.run(cmd, ['stop', id], { mutating: true });
    const d = await t.runner.run(cmd, ['destroy', id, '--purge'], { mutating: true });
    if (d.exitCode !== 0) log(`acceptance: ${cmd} destroy ${id} failed: ${d.stderr.trim()}`);
  }
  const left = (await guestsInRange(t)).filter((g) => g.own).map((g) => g.vmid);
  if (left.length)
    throw new Error(
      `clean-up left guests ${left.join(' ')} on ${t.label} (phoenix destroy said: ${r.stdout}${r.stderr})`,
    );
  return ids;
}

/** Refuses to run when a guest in the range is not the suite's own. */
export async function foreignGuests(t: Target): Promise<number[]> {
  return (await guestsInRange(t)).filter((g) => !g.own).map((g) => g.vmid);
}
