// How Phoenix reaches a Proxmox host: a command runner. The host code above it never knows
// whether it talks to the local node, a node over SSH or the simulator; only this module does.
// Every command is an argument array handed to execa (no shell strings), and every call is
// counted so a build can report how many host round trips it cost.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname, constants as osConstants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { remoteCommandLine } from './quote.js';
import { controlCheckArgv, hostUrl, type SshSettings, type SshTarget, sshArgv, sshFailure } from './ssh.js';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the transport (ssh) failed, not the command: ssh's own message. */
  transport?: string;
  /** Set when a signal killed the command (then exitCode is 128 + its number). */
  signal?: string;
}

export interface RunOptions {
  /** Called with each line the command prints (stdout and stderr), for progress display. */
  onLine?: (line: string) => void;
  /** Text fed to the command's stdin. */
  input?: string;
}

/** Host round trips made so far, split by whether they could change the host. */
export interface CallCounter {
  reads: number;
  writes: number;
}

export interface CommandRunner {
  /** Human name of the host, for messages (`local`, `ssh://root@pve1`, `sim:.phoenix/sim`). */
  readonly label: string;
  readonly calls: CallCounter;
  /** A host path as commands on this runner must name it (the simulator keeps its host under a folder). */
  mapPath(hostPath: string): string;
  /** Runs a command on the host. `mutating` only feeds the call counter. */
  run(cmd: string, args: string[], opts?: RunOptions & { mutating?: boolean }): Promise<CommandResult>;
  /** Reads a host file; `undefined` when it does not exist. */
  readFile(hostPath: string): Promise<string | undefined>;
  /** Writes a host file atomically (write beside, then rename), creating parent folders. */
  writeFile(hostPath: string, content: string): Promise<void>;
  /** Creates a host file only if it does not exist yet; false when it already exists. */
  createExclusive(hostPath: string, content: string): Promise<boolean>;
  removeFile(hostPath: string): Promise<void>;
  /** Makes a local file available to commands on the host; returns the path to name in them. */
  stage(localPath: string, content: string): Promise<string>;
}

/** Runs commands on this machine; file paths are taken under `root` (the simulator's fake host root, or `/`). */
export class LocalRunner implements CommandRunner {
  constructor(
    readonly label: string,
    protected readonly root: string,
    private readonly env: Record<string, string> = {},
    /** Shared by the runners of one cluster: a run's host calls are counted once, whichever node. */
    readonly calls: CallCounter = { reads: 0, writes: 0 },
  ) {}

  /** Maps a host path (`/etc/pve/...`) to this machine's file system. */
  mapPath(hostPath: string): string {
    return this.root === '/' ? hostPath : path.join(this.root, hostPath);
  }

  async run(
    cmd: string,
    args: string[],
    opts: RunOptions & { mutating?: boolean } = {},
  ): Promise<CommandResult> {
    if (opts.mutating) this.calls.writes++;
    else this.calls.reads++;
    return runLocal(cmd, guestCleanEnv(cmd, args), { ...opts, env: this.env });
  }

  async readFile(hostPath: string): Promise<string | undefined> {
    try {
      return await readFile(this.mapPath(hostPath), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async writeFile(hostPath: string, content: string): Promise<void> {
    this.calls.writes++;
    const file = this.mapPath(hostPath);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.phoenix-${process.pid}.tmp`;
    await writeFile(tmp, content);
    await rename(tmp, file);
  }

  async createExclusive(hostPath: string, content: string): Promise<boolean> {
    const file = this.mapPath(hostPath);
    await mkdir(path.dirname(file), { recursive: true });
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(content);
      await handle.close();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  async stage(localPath: string): Promise<string> {
    return localPath;
  }

  async removeFile(hostPath: string): Promise<void> {
    await unlink(this.mapPath(hostPath)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}

/**
 * `pct exec` with a clean environment. pct keeps the caller's environment by default
 * (`keep-env` defaults to 1 even in PVE 9, pve-container src/PVE/CLI/pct.pm:226-240, a FIXME):
 * Phoenix's own variables, or the locale ssh forwards, would otherwise reach every script in the
 * guest. `--keep-env 0` makes pct run `lxc-attach --clear-env` (pct.pm:251); the option exists since
 * pve-container 5.0.9 (debian/changelog, 2024-03: PVE 8.2 and 9).
 */
export function guestCleanEnv(cmd: string, args: readonly string[]): string[] {
  if (cmd !== 'pct' || args[0] !== 'exec' || args.length < 2) return [...args];
  const end = args.indexOf('--');
  const own = end < 0 ? args : args.slice(0, end);
  if (own.includes('--keep-env')) return [...args];
  return [args[0], args[1]!, '--keep-env', '0', ...args.slice(2)];
}

/** Below sshd's default `MaxSessions 10`, leaving room for another Phoenix sharing the master. */
const MAX_SESSIONS = 8;

/** Retries of a read-only call that failed in ssh itself (not on the host). */
export interface SshRetry {
  attempts: number;
  delayMs: number;
}

/**
 * Runs every command as `ssh … <host> -- <one quoted command line>` (see ssh.ts for the options).
 * ssh's own failures come back marked `transport`, with ssh's message, and are retried when the
 * call only reads: a refused or dropped connection says nothing about the host.
 */
export class SshRunner implements CommandRunner {
  readonly label: string;
  private master?: Promise<void>;
  /** A master connection was up after the first call (else every call connects on its own). */
  private multiplexed = false;
  private sessions = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(
    private readonly target: SshTarget,
    private readonly settings: SshSettings,
    private readonly retry: SshRetry = { attempts: 3, delayMs: 500 },
    /** Shared by the runners of one cluster (see LocalRunner). */
    readonly calls: CallCounter = { reads: 0, writes: 0 },
  ) {
    this.label = hostUrl(target);
  }

  mapPath(hostPath: string): string {
    return hostPath;
  }

  /**
   * The first call opens the master connection alone; the calls waiting behind it then share it
   * (with ControlMaster=auto, ten calls at once would each open a connection of their own).
   */
  private openMaster(): Promise<void> {
    this.master ??= (async () => {
      await runLocal('ssh', sshArgv(this.target, this.settings, 'true', false), {});
      const check = await runLocal('ssh', controlCheckArgv(this.target, this.settings), {});
      this.multiplexed = check.exitCode === 0;
    })();
    return this.master;
  }

  /**
   * A session of a master connection that dies ends with exit 255 and no word from ssh (the
   * master, which saw the disconnect, has no terminal). Proxmox's CLIs also exit 255 when they
   * die, so on a bare 255 the master is asked whether it is still alive: if not, the connection
   * was lost, whatever the command got to do.
   */
  private async lostMaster(exitCode: number): Promise<string | undefined> {
    if (exitCode !== 255 || !this.multiplexed) return undefined;
    const check = await runLocal('ssh', controlCheckArgv(this.target, this.settings), {});
    if (check.exitCode === 0) return undefined;
    return `the connection was lost during the command (it may or may not have run)${check.stderr.trim() ? `: ${check.stderr.trim()}` : ''}`;
  }

  /**
   * At most MAX_SESSIONS calls at once: they are sessions of one master connection, and sshd
   * refuses more than `MaxSessions` (default 10) per connection.
   */
  private async session<T>(fn: () => Promise<T>): Promise<T> {
    if (this.sessions < MAX_SESSIONS) this.sessions++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.sessions--;
    }
  }

  private async ssh(words: string[], opts: RunOptions & { read: boolean }): Promise<CommandResult> {
    await this.openMaster();
    return this.session(() => this.attempts(words, opts));
  }

  private async attempts(words: string[], opts: RunOptions & { read: boolean }): Promise<CommandResult> {
    const line = remoteCommandLine(words);
    for (let attempt = 1; ; attempt++) {
      const r = await runLocal(
        'ssh',
        sshArgv(this.target, this.settings, line, opts.input !== undefined),
        opts,
      );
      const failure = sshFailure(r.exitCode, r.stderr) ?? (await this.lostMaster(r.exitCode));
      if (!failure) return r;
      if (!opts.read || attempt >= this.retry.attempts)
        return { ...r, stderr: `ssh to ${this.label} failed: ${failure}\n`, transport: failure };
      await new Promise((resolve) => setTimeout(resolve, this.retry.delayMs * attempt));
    }
  }

  async run(
    cmd: string,
    args: string[],
    opts: RunOptions & { mutating?: boolean } = {},
  ): Promise<CommandResult> {
    if (opts.mutating) this.calls.writes++;
    else this.calls.reads++;
    return this.ssh([cmd, ...guestCleanEnv(cmd, args)], { ...opts, read: !opts.mutating });
  }

  async readFile(hostPath: string): Promise<string | undefined> {
    this.calls.reads++;
    const script = 'test -e "$1" || exit 3; cat -- "$1"';
    const r = await this.ssh(['sh', '-c', script, 'sh', hostPath], { read: true });
    if (r.exitCode === 3) return undefined;
    if (r.exitCode !== 0) throw new Error(`cannot read ${hostPath} on ${this.label}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async writeFile(hostPath: string, content: string): Promise<void> {
    this.calls.writes++;
    // The temporary name carries the remote shell's pid: two writers of one file never share it.
    const script =
      'mkdir -p -- "$(dirname -- "$1")" && cat > "$1.phoenix-$$.tmp" && mv -f -- "$1.phoenix-$$.tmp" "$1"';
    const r = await this.ssh(['sh', '-c', script, 'sh', hostPath], { input: content, read: false });
    if (r.exitCode !== 0) throw new Error(`cannot write ${hostPath} on ${this.label}: ${r.stderr.trim()}`);
  }

  async createExclusive(hostPath: string, content: string): Promise<boolean> {
    this.calls.writes++;
    // noclobber makes `>` fail when the file exists, atomically on the remote side.
    const script = 'mkdir -p -- "$(dirname -- "$1")" && { set -C; cat > "$1"; } 2>/dev/null || exit 3';
    const r = await this.ssh(['sh', '-c', script, 'sh', hostPath], { input: content, read: false });
    if (r.exitCode === 3) return false;
    if (r.exitCode !== 0) throw new Error(`cannot create ${hostPath} on ${this.label}: ${r.stderr.trim()}`);
    return true;
  }

  /**
   * Staged files are named by their content (`/var/tmp/phoenix/<sha256/16>-<name>`): two scripts
   * with one base name never overwrite each other, and the same script staged for several guests
   * at once lands in one file written with the same bytes.
   */
  async stage(localPath: string, content: string): Promise<string> {
    const remote = stagedPath(localPath, content);
    await this.writeFile(remote, content);
    return remote;
  }

  /** Best effort, as before: a lock or record left behind by a lost connection is taken over later. */
  async removeFile(hostPath: string): Promise<void> {
    this.calls.writes++;
    await this.ssh(['rm', '-f', '--', hostPath], { read: false });
  }
}

export const STAGE_DIR = '/var/tmp/phoenix';

/** Where stage() puts a file on the host: named by its content, keeping the base name for people. */
export function stagedPath(localPath: string, content: string): string {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 16);
  return `${STAGE_DIR}/${hash}-${path.basename(localPath)}`;
}

async function runLocal(
  cmd: string,
  args: string[],
  opts: RunOptions & { env?: Record<string, string> },
): Promise<CommandResult> {
  const child = execa(cmd, args, {
    reject: false,
    cwd: '/',
    env: opts.env,
    // No input: a closed stdin (not execa's default open pipe), so a command that reads it (a
    // dpkg prompt inside `pct exec`, `read`) sees end-of-file instead of waiting forever.
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    // Own process group: a Ctrl-C in the terminal reaches Phoenix only, which then lets a
    // running `pct clone` finish instead of leaving a locked half-made guest behind.
    detached: true,
    stripFinalNewline: false,
    encoding: 'utf8',
  });
  if (opts.onLine) {
    const onLine = opts.onLine;
    let pending = '';
    const feed = (chunk: Buffer | string) => {
      pending += chunk.toString();
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line);
    };
    child.stdout?.on('data', feed);
    child.stderr?.on('data', feed);
  }
  const r = await child;
  if (r.signal) {
    // Killed (OOM killer, an admin's kill): say so, rather than pass it off as "cannot run" (127).
    const code = 128 + (osConstants.signals[r.signal] ?? 0);
    return {
      exitCode: code,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      signal: r.signal,
    };
  }
  if (r.failed && r.exitCode === undefined) {
    // The command could not start at all (not installed, no such file).
    return { exitCode: 127, stdout: '', stderr: `${cmd}: ${r.shortMessage ?? 'cannot run'}` };
  }
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** The folder of the installed package (two levels above dist/cli.js or src/pve/runner.ts). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** The simulated node of a single-node simulator (every existing sim root). */
export const SIM_SINGLE_NODE = 'pve';

/**
 * One node of a simulated cluster: its commands run with PHOENIX_SIM_NODE set, and its host
 * paths map as the simulator keeps them: `/etc/pve` is the cluster's one copy (pmxcfs), any
 * other path is the node's own, under `fs/<node>/`.
 */
class SimNodeRunner extends LocalRunner {
  constructor(
    label: string,
    root: string,
    env: Record<string, string>,
    calls: CallCounter | undefined,
    private readonly node: string,
  ) {
    super(label, root, env, calls);
  }

  override mapPath(hostPath: string): string {
    return simNodePath(this.root, this.node, hostPath);
  }
}

/** Where the simulator keeps host path `hostPath` of `node` (shared /etc/pve; `pve` keeps the old layout). */
export function simNodePath(root: string, node: string, hostPath: string): string {
  if (node === SIM_SINGLE_NODE) return path.join(root, hostPath);
  // pmxcfs shows `local`, `lxc`, `qemu-server`, `openvz` as links to this node's folder
  // (pve-cluster src/pmxcfs/cfs-plug-link.c); the simulated cluster has no such links.
  const link = /^\/etc\/pve\/(local|lxc|qemu-server|openvz)(\/.*)?$/.exec(hostPath);
  if (link) {
    const sub = link[1] === 'local' ? '' : `/${link[1]}`;
    return path.join(root, 'etc/pve/nodes', node, `${sub}${link[2] ?? ''}`);
  }
  if (hostPath === '/etc/pve' || hostPath.startsWith('/etc/pve/')) return path.join(root, hostPath);
  return path.join(root, 'fs', node, hostPath);
}

/**
 * The simulator: local commands, with the fake `pct`/`qm`/`pvesh`/`pvesm` first on PATH. With
 * `node`, the commands run on that node of a simulated cluster (PHOENIX_SIM_NODE).
 */
export function simRunner(
  simRoot: string,
  extraEnv: Record<string, string> = {},
  /** Another build of the simulator's commands (PHOENIX_SIM_BIN, testing a fix). */
  simBin?: string,
  node?: string,
  calls?: CallCounter,
): LocalRunner {
  const root = path.resolve(simRoot);
  const binDir = simBin ?? path.join(packageRoot(), 'bin', 'sim');
  const env: Record<string, string> = {
    PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`,
    PHOENIX_SIM_ROOT: root,
    ...(node ? { PHOENIX_SIM_NODE: node } : {}),
    ...extraEnv,
  };
  if (!node) return new LocalRunner(`sim:${simRoot}`, root, env, calls);
  return new SimNodeRunner(`sim:${simRoot}#${node}`, root, env, calls, node);
}

export function localRunner(calls?: CallCounter): LocalRunner {
  return new LocalRunner(`local:${hostname()}`, '/', {}, calls);
}
