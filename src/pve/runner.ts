// How Phoenix reaches a Proxmox host: a command runner. The host code above it never knows
// whether it talks to the local node, a node over SSH or the simulator; only this module does.
// Every command is an argument array handed to execa (no shell strings), and every call is
// counted so a build can report how many host round trips it cost.
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname, constants as osConstants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { shellQuote } from './quote.js';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
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
  readonly calls: CallCounter = { reads: 0, writes: 0 };
  constructor(
    readonly label: string,
    private readonly root: string,
    private readonly env: Record<string, string> = {},
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
    return runLocal(cmd, args, { ...opts, env: this.env });
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
 * Runs every command as `ssh <dest> -- <quoted words>`: the remote side gets one command line,
 * so each word is shell-quoted here (the only place a string is built for a shell, and it is
 * the remote login shell, not ours).
 */
export class SshRunner implements CommandRunner {
  readonly calls: CallCounter = { reads: 0, writes: 0 };
  readonly label: string;
  constructor(private readonly dest: string) {
    this.label = `ssh://${dest}`;
  }

  mapPath(hostPath: string): string {
    return hostPath;
  }

  private sshArgs(words: string[]): string[] {
    return ['-o', 'BatchMode=yes', this.dest, '--', words.map(shellQuote).join(' ')];
  }

  async run(
    cmd: string,
    args: string[],
    opts: RunOptions & { mutating?: boolean } = {},
  ): Promise<CommandResult> {
    if (opts.mutating) this.calls.writes++;
    else this.calls.reads++;
    return runLocal('ssh', this.sshArgs([cmd, ...args]), opts);
  }

  async readFile(hostPath: string): Promise<string | undefined> {
    this.calls.reads++;
    const r = await runLocal(
      'ssh',
      this.sshArgs(['sh', '-c', 'test -e "$1" || exit 3; cat -- "$1"', 'sh', hostPath]),
      {},
    );
    if (r.exitCode === 3) return undefined;
    if (r.exitCode !== 0) throw new Error(`cannot read ${hostPath} on ${this.label}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async writeFile(hostPath: string, content: string): Promise<void> {
    this.calls.writes++;
    const script =
      'mkdir -p -- "$(dirname -- "$1")" && cat > "$1.phoenix.tmp" && mv -f -- "$1.phoenix.tmp" "$1"';
    const r = await runLocal('ssh', this.sshArgs(['sh', '-c', script, 'sh', hostPath]), { input: content });
    if (r.exitCode !== 0) throw new Error(`cannot write ${hostPath} on ${this.label}: ${r.stderr.trim()}`);
  }

  async createExclusive(hostPath: string, content: string): Promise<boolean> {
    this.calls.writes++;
    // noclobber makes `>` fail when the file exists, atomically on the remote side.
    const script = 'mkdir -p -- "$(dirname -- "$1")" && { set -C; cat > "$1"; } 2>/dev/null || exit 3';
    const r = await runLocal('ssh', this.sshArgs(['sh', '-c', script, 'sh', hostPath]), { input: content });
    if (r.exitCode === 3) return false;
    if (r.exitCode !== 0) throw new Error(`cannot create ${hostPath} on ${this.label}: ${r.stderr.trim()}`);
    return true;
  }

  async stage(localPath: string, content: string): Promise<string> {
    const remote = `/var/tmp/phoenix/${path.basename(localPath)}`;
    await this.writeFile(remote, content);
    return remote;
  }

  async removeFile(hostPath: string): Promise<void> {
    this.calls.writes++;
    await runLocal('ssh', this.sshArgs(['rm', '-f', '--', hostPath]), {});
  }
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
    input: opts.input,
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

/** The simulator: local commands, with the fake `pct`/`qm`/`pvesh`/`pvesm` first on PATH. */
export function simRunner(simRoot: string): LocalRunner {
  const root = path.resolve(simRoot);
  // PHOENIX_SIM_BIN points at another build of the simulator's commands (testing a fix).
  const binDir = process.env.PHOENIX_SIM_BIN ?? path.join(packageRoot(), 'bin', 'sim');
  const env: Record<string, string> = {
    PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`,
    PHOENIX_SIM_ROOT: root,
  };
  return new LocalRunner(`sim:${simRoot}`, root, env);
}

export function localRunner(): LocalRunner {
  return new LocalRunner(`local:${hostname()}`, '/');
}
