// The SSH side of host access, as pure functions: where `--host ssh://…` points, the ssh options
// Phoenix always passes, and telling ssh's own failures from the remote command's. runner.ts
// does the I/O with them.
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Result } from '../dsl/diagnostics.js';

/** A Proxmox node reached over SSH. */
export interface SshTarget {
  user: string;
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port?: number;
}

export type Parsed<T> = Result<T, string>;

// User and host are plain names: a leading `-` would reach ssh as an option (-oProxyCommand=...).
const HOST_URL =
  /^ssh:\/\/(?:([A-Za-z0-9_][A-Za-z0-9._-]*)@)?([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])(?::(\d+))?\/?$/;

/**
 * `ssh://[user@]host[:port]` → target. Only root may drive Proxmox: `pct`, `qm` and `pvesh` are
 * root CLIs (pve-container src/PVE/CLI/pct.pm runs every command as root@pam) and the guest
 * configs under /etc/pve/nodes are root:www-data 0640, so another user would fail at the first
 * read; it is refused here with the reason instead. A missing user means root.
 */
export function parseHostUrl(url: string): Parsed<SshTarget> {
  const m = HOST_URL.exec(url);
  if (!m)
    return {
      ok: false,
      error: `--host ${url}: expected ssh://root@host or ssh://root@host:port (host: letters, digits, . -; IPv6 in [ ])`,
    };
  const user = m[1] ?? 'root';
  if (user !== 'root')
    return {
      ok: false,
      error: `--host ${url}: Phoenix must log in as root, not '${user}': pct, qm and pvesh only run as root on Proxmox, and /etc/pve/nodes/*/*.conf is readable by root only (use ssh://root@${m[2]}${m[3] ? `:${m[3]}` : ''})`,
    };
  const host = m[2]!.replace(/^\[|\]$/g, '');
  if (m[3] === undefined) return { ok: true, value: { user, host } };
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return { ok: false, error: `--host ${url}: port ${m[3]} is not between 1 and 65535` };
  return { ok: true, value: { user, host, port } };
}

/** `ssh://root@pve1:2222`, for messages. */
export function hostUrl(t: SshTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `ssh://${t.user}@${host}${t.port ? `:${t.port}` : ''}`;
}

export interface SshSettings {
  /** Folder of the ControlMaster sockets (see controlDir). */
  controlDir: string;
  /** An ssh_config file of the user's own (`PHOENIX_SSH_CONFIG`), passed as `-F`. */
  configFile?: string;
}

/**
 * The ssh command line for one remote command line. One master connection per host
 * (ControlMaster/ControlPersist): a build makes hundreds of calls, up to ten at once, and fresh
 * connections would each pay a handshake and trip sshd's `MaxStartups 10:30:100`. BatchMode turns
 * every prompt (password, unknown host key) into an immediate failure; `-n` gives a command without
 * input a closed stdin, so nothing on the host can block reading it.
 */
export function sshArgv(t: SshTarget, s: SshSettings, remoteLine: string, hasInput: boolean): string[] {
  return [...(hasInput ? [] : ['-n']), ...sshOptions(t, s), t.host, '--', remoteLine];
}

/** `ssh -O check`: is the master connection for this host alive? */
export function controlCheckArgv(t: SshTarget, s: SshSettings): string[] {
  return ['-O', 'check', ...sshOptions(t, s), t.host];
}

function sshOptions(t: SshTarget, s: SshSettings): string[] {
  return [
    ...(s.configFile ? ['-F', s.configFile] : []),
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=4',
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${path.join(s.controlDir, 'phoenix-%C')}`,
    '-o',
    'ControlPersist=60',
    ...(t.port ? ['-p', String(t.port)] : []),
    '-l',
    t.user,
  ];
}

// Lines ssh itself prints when it, not the remote command, failed (OpenSSH 9: ssh.c, sshconnect.c,
// clientloop.c, mux.c, sshconnect2.c). Proxmox's CLIs also exit 255 when they die, so the exit
// code alone cannot tell the two apart.
const SSH_FAILURE = [
  /^ssh: connect to host .*$/m,
  /^ssh: Could not resolve hostname .*$/m,
  /^Host key verification failed\.$/m,
  /^No \S+ host key is known for .*$/m,
  /^.*REMOTE HOST IDENTIFICATION HAS CHANGED.*$/m,
  /^\S+@\S+: Permission denied \(.*\)\.$/m,
  /^Permission denied \(.*\)\.$/m,
  /^kex_exchange_identification: .*$/m,
  /^banner exchange: .*$/m,
  /^Connection (?:closed|reset) by .*$/m,
  /^Connection to .* closed by remote host\.$/m,
  /^Connection timed out during banner exchange$/m,
  /^client_loop: .*$/m,
  /^mux_client_\w+: .*$/m,
  /^Control socket connect.*$/m,
  /^ssh_dispatch_run_fatal: .*$/m,
  /^Received disconnect from .*$/m,
  /^Bad owner or permissions on .*$/m,
  /^.*: Bad configuration option: .*$/m,
  /^Too many authentication failures.*$/m,
];

/**
 * ssh's own failure message when a call failed in transport (exit 255 with ssh's words on stderr),
 * or undefined when the remote command ran and its exit code is its own.
 */
export function sshFailure(exitCode: number, stderr: string): string | undefined {
  if (exitCode !== 255) return undefined;
  const found: string[] = [];
  for (const re of SSH_FAILURE) {
    const m = re.exec(stderr);
    if (m && !found.includes(m[0].trim())) found.push(m[0].trim());
  }
  return found.length ? found.join('; ') : undefined;
}

/**
 * Where the ControlMaster sockets live: a short per-user folder (a unix socket path must stay
 * under ~100 bytes, so not a deep home). Refused when another user owns it or can write it: a
 * socket planted there would be a connection to a host of someone else's choosing.
 */
export function controlDir(base: string | undefined): Parsed<string> {
  const uid = process.getuid?.() ?? 0;
  const dir = base && base.length < 50 ? path.join(base, 'phoenix') : path.join(tmpdir(), `phoenix-${uid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0)
      return {
        ok: false,
        error: `${dir} (ssh control sockets) must be a folder of user ${uid} with mode 0700; remove it or fix its owner`,
      };
    return { ok: true, value: dir };
  } catch (error) {
    return { ok: false, error: `cannot create ${dir} for ssh control sockets: ${(error as Error).message}` };
  }
}
