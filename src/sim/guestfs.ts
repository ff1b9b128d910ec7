// A minimal model of a guest's file system, enough to answer the commands an orchestrator runs
// in a guest without a shell: the directories and programs of a Debian/Ubuntu standard image
// (read-only "base"), plus an overlay under sim/guests/<vmid>/files that `pct push`, `mkdir`,
// `touch` write and `rm` deletes from (base paths removed are listed in sim/guests/<vmid>/removed.json).
// Nothing here runs on this machine.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimHost } from './host.js';
import { readJson, writeJson } from './io.js';

/** Directories of a standard template (merged /usr: /bin, /sbin, /lib are links into /usr). */
const BASE_DIRS = [
  '/',
  '/usr',
  '/usr/bin',
  '/usr/sbin',
  '/usr/lib',
  '/usr/local',
  '/usr/local/bin',
  '/usr/local/sbin',
  '/usr/share',
  '/etc',
  '/etc/apt',
  '/etc/systemd',
  '/etc/systemd/system',
  '/root',
  '/home',
  '/tmp',
  '/var',
  '/var/tmp',
  '/var/lib',
  '/var/log',
  '/var/cache',
  '/opt',
  '/srv',
  '/mnt',
  '/media',
  '/run',
  '/dev',
  '/proc',
  '/sys',
  '/boot',
];

/**
 * Programs every Debian/Ubuntu template has (coreutils, bash, dash, grep, sed, mawk, hostname,
 * systemd, apt, dpkg, util-linux, passwd, python3 on Ubuntu). Shell builtins such as `command`,
 * `type`, `cd`, `source` are not programs: `pct exec` runs argv without a shell.
 */
const BASE_PROGRAMS = [
  ...'[ basename cat chgrp chmod chown cp cut date dd df dirname du echo env false head id install ln ls md5sum mkdir mktemp mv nproc printf pwd readlink realpath rm rmdir sha1sum sha256sum sha512sum sleep sort stat sync tail tee test timeout touch tr true uname uniq wc whoami yes'.split(
    ' ',
  ),
  ...'bash sh dash rbash grep egrep fgrep sed awk mawk hostname systemctl journalctl apt apt-get apt-cache dpkg dpkg-query find xargs mount umount su passwd getent python3 perl tar gzip zstd ps kill'.split(
    ' ',
  ),
].map((p) => `/usr/bin/${p}`);

const BASE_SBIN = 'useradd usermod userdel groupadd chpasswd ip sysctl ldconfig'
  .split(' ')
  .map((p) => `/usr/sbin/${p}`);

/** `PATH` lxc-attach sets when the environment is cleared (lxc src/lxc/attach.c, `--clear-env`). */
export const GUEST_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export type Kind = 'file' | 'dir';

export class GuestFs {
  private readonly overlay: string;
  private readonly removedPath: string;

  constructor(
    host: SimHost,
    readonly vmid: number,
    private readonly baseFiles: Record<string, string> = {},
  ) {
    this.overlay = host.simPath('guests', String(vmid), 'files');
    this.removedPath = host.simPath('guests', String(vmid), 'removed.json');
  }

  /** Absolute, normalized, merged-/usr path; undefined for a relative one (see `pct exec`). */
  static normalize(path: string): string | undefined {
    if (!path.startsWith('/')) return undefined;
    const parts: string[] = [];
    for (const p of path.split('/')) {
      if (p === '' || p === '.') continue;
      if (p === '..') parts.pop();
      else parts.push(p);
    }
    let abs = `/${parts.join('/')}`;
    abs = abs.replace(/^\/(bin|sbin|lib)(?=\/|$)/, '/usr/$1');
    return abs;
  }

  private removed(): string[] {
    return readJson<string[]>(this.removedPath, []);
  }

  private isRemoved(abs: string): boolean {
    return this.removed().some((r) => abs === r || abs.startsWith(r === '/' ? '/' : `${r}/`));
  }

  private host(abs: string): string {
    return join(this.overlay, abs);
  }

  private baseKind(abs: string): Kind | undefined {
    if (BASE_DIRS.includes(abs)) return 'dir';
    if (BASE_PROGRAMS.includes(abs) || BASE_SBIN.includes(abs) || abs in this.baseFiles) return 'file';
    return undefined;
  }

  kind(abs: string): Kind | undefined {
    const p = this.host(abs);
    if (existsSync(p)) return statSync(p).isDirectory() ? 'dir' : 'file';
    if (this.isRemoved(abs)) return undefined;
    return this.baseKind(abs);
  }

  size(abs: string): number {
    return this.read(abs)?.length ?? 0;
  }

  /** A file's bytes; undefined when it is not a file. Base programs read as empty. */
  read(abs: string): Buffer | undefined {
    if (this.kind(abs) !== 'file') return undefined;
    const p = this.host(abs);
    if (existsSync(p)) return readFileSync(p);
    return Buffer.from(this.baseFiles[abs] ?? '');
  }

  private parent(abs: string): string {
    return abs.replace(/\/[^/]+$/, '') || '/';
  }

  private unremove(abs: string): void {
    const list = this.removed();
    const next = list.filter((r) => r !== abs && !abs.startsWith(`${r}/`));
    if (next.length !== list.length) writeJson(this.removedPath, next);
  }

  /** mkdir of one directory: the parent must be a directory. */
  mkdir(abs: string): 'ok' | 'exists' | 'noparent' | 'notdir' {
    const k = this.kind(abs);
    if (k) return 'exists';
    const pk = this.kind(this.parent(abs));
    if (pk === undefined) return 'noparent';
    if (pk !== 'dir') return 'notdir';
    mkdirSync(this.host(abs), { recursive: true });
    this.unremove(abs);
    return 'ok';
  }

  /** Writes a file (push, touch); parent directories must exist unless `parents`. */
  write(abs: string, data: Buffer | string, parents = false): 'ok' | 'noparent' | 'isdir' {
    if (this.kind(abs) === 'dir') return 'isdir';
    if (!parents && this.kind(this.parent(abs)) !== 'dir') return 'noparent';
    mkdirSync(this.parent(this.host(abs)), { recursive: true });
    writeFileSync(this.host(abs), data);
    this.unremove(abs);
    return 'ok';
  }

  /** Lists the names directly under a directory (overlay and base). */
  children(abs: string): string[] {
    const names = new Set<string>();
    const prefix = abs === '/' ? '/' : `${abs}/`;
    for (const b of [...BASE_DIRS, ...BASE_PROGRAMS, ...BASE_SBIN, ...Object.keys(this.baseFiles)]) {
      if (b !== abs && b.startsWith(prefix) && !b.slice(prefix.length).includes('/') && this.kind(b))
        names.add(b.slice(prefix.length));
    }
    const p = this.host(abs);
    if (existsSync(p) && statSync(p).isDirectory()) for (const n of readdirSync(p)) names.add(n);
    return [...names].sort();
  }

  remove(abs: string): void {
    rmSync(this.host(abs), { recursive: true, force: true });
    if (this.baseKind(abs) || BASE_DIRS.some((d) => d.startsWith(`${abs}/`))) {
      const list = this.removed();
      if (!list.includes(abs)) writeJson(this.removedPath, [...list, abs]);
    }
  }

  /** `execvp`'s lookup: a path with `/` as given, else each PATH entry in order. */
  which(program: string): string | undefined {
    if (program.includes('/')) {
      const abs = GuestFs.normalize(program);
      return abs && this.kind(abs) === 'file' ? abs : undefined;
    }
    for (const dir of GUEST_PATH) {
      const abs = GuestFs.normalize(`${dir}/${program}`)!;
      if (this.kind(abs) === 'file') return abs;
    }
    return undefined;
  }
}
