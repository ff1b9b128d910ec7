// The simulated host's file tools for host folders (bind-mount sources): `chown`, `mkdir` and
// `stat` with GNU coreutils' options, messages and exit codes, acting on the state folder instead
// of the machine's root. They exist because Phoenix runs them on the Proxmox host, and the real
// ones on PATH would touch `/mnt/pve/...` of the machine running the simulator (often as root).
// Owners are not changed on disk (the simulator need not run as root): chown records them in
// sim/owners.json and stat reads them back; a path never chowned belongs to root (0:0), as a
// folder that root's mkdir made does.
import { lstatSync, mkdirSync, readdirSync, type Stats, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { Ctx } from './context.js';
import { readJson, writeJson } from './io.js';
import { withStateLock } from './lock.js';

export interface OwnerRecord {
  user: string;
  group?: string;
  /** The last chown of this path was `-R` (its existing descendants got their own records). */
  recursive?: boolean;
}

export type Owners = Record<string, OwnerRecord>;

/**
 * Fixed ids of Debian's base-passwd (passwd.master / group.master), which a Proxmox VE host (Debian)
 * has; other names exist only if a package created them, with ids that vary per host, so the
 * simulator does not know them (chown reports them invalid).
 */
const USERS: Record<string, number> = {
  root: 0,
  daemon: 1,
  bin: 2,
  sys: 3,
  sync: 4,
  games: 5,
  man: 6,
  lp: 7,
  mail: 8,
  news: 9,
  uucp: 10,
  proxy: 13,
  'www-data': 33,
  backup: 34,
  list: 38,
  irc: 39,
  nobody: 65534,
};
const GROUPS: Record<string, number> = {
  root: 0,
  daemon: 1,
  bin: 2,
  sys: 3,
  adm: 4,
  tty: 5,
  disk: 6,
  lp: 7,
  mail: 8,
  news: 9,
  uucp: 10,
  man: 12,
  proxy: 13,
  kmem: 15,
  dialout: 20,
  fax: 21,
  voice: 22,
  cdrom: 24,
  floppy: 25,
  tape: 26,
  sudo: 27,
  audio: 29,
  dip: 30,
  'www-data': 33,
  backup: 34,
  operator: 37,
  list: 38,
  irc: 39,
  src: 40,
  shadow: 42,
  utmp: 43,
  video: 44,
  sasl: 45,
  plugdev: 46,
  staff: 50,
  games: 60,
  users: 100,
  nogroup: 65534,
};

const isId = (v: string): boolean => /^\d+$/.test(v) && Number(v) < 2 ** 32 - 1;
const idOf = (table: Record<string, number>, v: string | undefined): number =>
  v === undefined || v === '' ? 0 : isId(v) ? Number(v) : (table[v] ?? 0);
const nameOf = (table: Record<string, number>, id: number): string =>
  Object.entries(table).find(([, n]) => n === id)?.[0] ?? 'UNKNOWN';

/**
 * A path as the simulated host sees it, normalized: relative paths count from `/` (the
 * simulator has no working directory), `..` cannot climb above `/`, and a path already inside
 * the state folder is taken as the host path it stands for.
 */
export function simHostPathOf(ctx: Ctx, p: string): string {
  const root = ctx.host.root.replace(/\/+$/, '');
  const inRoot = p === root || p.startsWith(`${root}/`) ? p.slice(root.length) || '/' : p;
  return posix.resolve('/', inRoot);
}

function ownersPath(ctx: Ctx): string {
  return ctx.host.nodeSimPath('owners.json');
}

export function readOwners(ctx: Ctx): Owners {
  return readJson<Owners>(ownersPath(ctx), {});
}

function updateOwners(ctx: Ctx, fn: (owners: Owners) => void): void {
  const path = ownersPath(ctx);
  withStateLock(ctx.io, path, () => {
    const owners = readJson<Owners>(path, {});
    fn(owners);
    writeJson(path, owners);
  });
}

/** Numeric uid/gid of a host path (0:0 unless chowned). */
export function ownerOf(owners: Owners, hostPath: string): { uid: number; gid: number } {
  const rec = owners[hostPath];
  return { uid: idOf(USERS, rec?.user), gid: idOf(GROUPS, rec?.group) };
}

function statOrUndefined(path: string, follow = true): Stats | undefined {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Host paths below `hostPath` that exist now (what `chown -R` reaches). */
function descendants(ctx: Ctx, hostPath: string): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(ctx.host.hostPath(p));
    } catch {
      return;
    }
    for (const e of entries) {
      const child = posix.join(p, e);
      out.push(child);
      if (statOrUndefined(ctx.host.hostPath(child), false)?.isDirectory()) walk(child);
    }
  };
  walk(hostPath);
  return out;
}

/** GNU getopt-style split (options may follow operands; `--` ends options). */
function splitArgs(argv: string[]): { opts: string[]; operands: string[] } {
  const opts: string[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-') opts.push(a);
    else operands.push(a);
  }
  return { opts, operands };
}

function usageError(ctx: Ctx, tool: string, msg: string): void {
  ctx.io.err(`${tool}: ${msg}\nTry '${tool} --help' for more information.\n`);
  ctx.exit = 1;
}

/** Node's errno code as coreutils prints it (strerror). */
function strerror(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EEXIST':
      return 'File exists';
    case 'ENOTDIR':
      return 'Not a directory';
    case 'EACCES':
      return 'Permission denied';
    default:
      return code ?? 'Input/output error';
  }
}

// ---------------------------------------------------------------------------------------------

/** `chown [-R] [-h] [-v] [-c] [-f] OWNER[:GROUP] [--] PATH...`: records owners per host path. */
export function chownMain(ctx: Ctx, argv: string[]): void {
  const { opts, operands } = splitArgs(argv);
  let recursive = false;
  for (const o of opts) {
    if (o === '--recursive') recursive = true;
    else if (/^-[RhvcfHLP]+$/.test(o)) recursive ||= o.includes('R');
    else if (
      !['--verbose', '--changes', '--silent', '--quiet', '--no-dereference', '--dereference'].includes(o)
    ) {
      usageError(
        ctx,
        'chown',
        o.startsWith('--') ? `unrecognized option '${o}'` : `invalid option -- '${o[1]}'`,
      );
      return;
    }
  }
  const [spec, ...paths] = operands;
  if (!spec || paths.length === 0) {
    usageError(ctx, 'chown', spec ? `missing operand after '${spec}'` : 'missing operand');
    return;
  }
  const colon = spec.indexOf(':');
  const user = colon < 0 ? spec : spec.slice(0, colon);
  const group = colon < 0 ? undefined : spec.slice(colon + 1);
  // coreutils parse_user_spec: names must resolve, the whole spec is quoted in the message.
  if (user !== '' && !isId(user) && USERS[user] === undefined) {
    ctx.io.err(`chown: invalid user: '${spec}'\n`);
    ctx.exit = 1;
    return;
  }
  if (group !== undefined && group !== '' && !isId(group) && GROUPS[group] === undefined) {
    ctx.io.err(`chown: invalid group: '${spec}'\n`);
    ctx.exit = 1;
    return;
  }
  const targets: string[] = [];
  for (const p of paths) {
    const hostPath = simHostPathOf(ctx, p);
    if (!statOrUndefined(ctx.host.hostPath(hostPath))) {
      // GNU chown goes on with the other operands and exits 1 at the end.
      ctx.io.err(`chown: cannot access '${p}': No such file or directory\n`);
      ctx.exit = 1;
      continue;
    }
    targets.push(hostPath);
  }
  if (!targets.length) return;
  updateOwners(ctx, (owners) => {
    const set = (hostPath: string, top: boolean): void => {
      const old = owners[hostPath];
      const rec: OwnerRecord = { user: user === '' ? (old?.user ?? '0') : user };
      const g = group === undefined || group === '' ? old?.group : group;
      if (g !== undefined) rec.group = g;
      if (top && recursive) rec.recursive = true;
      owners[hostPath] = rec;
    };
    for (const t of targets) {
      set(t, true);
      if (recursive) for (const d of descendants(ctx, t)) set(d, false);
    }
  });
}

/** `mkdir [-p] [-v] [--] DIR...` under the state folder, with GNU's messages; exit 1 if any failed. */
export function mkdirMain(ctx: Ctx, argv: string[]): void {
  const { opts, operands } = splitArgs(argv);
  let parents = false;
  let verbose = false;
  for (const o of opts) {
    if (o === '--parents') parents = true;
    else if (o === '--verbose') verbose = true;
    else if (/^-[pv]+$/.test(o)) {
      parents ||= o.includes('p');
      verbose ||= o.includes('v');
    } else if (/^-(m|-mode)/.test(o)) {
      // Modes are not kept by the simulator (stat %a shows the state folder's own).
      usageError(ctx, 'mkdir', `option '${o}' is not supported by the Phoenix simulator`);
      return;
    } else {
      usageError(
        ctx,
        'mkdir',
        o.startsWith('--') ? `unrecognized option '${o}'` : `invalid option -- '${o[1]}'`,
      );
      return;
    }
  }
  if (!operands.length) {
    usageError(ctx, 'mkdir', 'missing operand');
    return;
  }
  const created: string[] = [];
  for (const p of operands) {
    const hostPath = simHostPathOf(ctx, p);
    const fail = (code: string | undefined): void => {
      ctx.io.err(`mkdir: cannot create directory '${p}': ${strerror(code)}\n`);
      ctx.exit = 1;
    };
    if (!parents) {
      try {
        mkdirSync(ctx.host.hostPath(hostPath));
      } catch (e) {
        fail((e as NodeJS.ErrnoException).code);
        continue;
      }
      created.push(hostPath);
      if (verbose) ctx.out(`mkdir: created directory '${p}'\n`);
      continue;
    }
    // -p: make each missing component; an existing directory is fine, anything else is not.
    // [GUESS] the errno for a component that is a file: coreutils' mkancesdirs reports the
    // operand with ENOTDIR, and EEXIST when the operand itself is a file.
    const parts = hostPath.split('/').filter(Boolean);
    let cur = '/';
    for (let i = 0; i < parts.length; i++) {
      cur = posix.join(cur, parts[i]!);
      const st = statOrUndefined(ctx.host.hostPath(cur));
      if (st?.isDirectory()) continue;
      if (st) {
        fail(i === parts.length - 1 ? 'EEXIST' : 'ENOTDIR');
        break;
      }
      try {
        mkdirSync(ctx.host.hostPath(cur));
      } catch (e) {
        fail((e as NodeJS.ErrnoException).code);
        break;
      }
      created.push(cur);
      // GNU prints each directory it made with -v, the leading ones as they are spelled in the operand.
      if (verbose) ctx.out(`mkdir: created directory '${i === parts.length - 1 ? p : cur}'\n`);
    }
  }
  // A new folder is root's, whatever an old record of a folder once at that path says.
  if (created.length) {
    const stale = readOwners(ctx);
    if (created.some((c) => stale[c]))
      updateOwners(ctx, (owners) => {
        for (const c of created) delete owners[c];
      });
  }
}

function fileType(st: Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return st.size === 0 ? 'regular empty file' : 'regular file';
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character special file';
  return 'block special file';
}

function modeString(st: Stats): string {
  const t = st.isDirectory()
    ? 'd'
    : st.isSymbolicLink()
      ? 'l'
      : st.isFIFO()
        ? 'p'
        : st.isSocket()
          ? 's'
          : '-';
  const m = st.mode;
  const rwx = (shift: number, special: number, ch: string): string =>
    `${m & (4 << shift) ? 'r' : '-'}${m & (2 << shift) ? 'w' : '-'}${
      m & special ? (m & (1 << shift) ? ch : ch.toUpperCase()) : m & (1 << shift) ? 'x' : '-'
    }`;
  return `${t}${rwx(6, 0o4000, 's')}${rwx(3, 0o2000, 's')}${rwx(0, 0o1000, 't')}`;
}

/** `--printf` interprets backslash escapes (`-c`/`--format` do not). */
function printfEscapes(fmt: string): string {
  return fmt.replace(/\\([0-7]{1,3}|.)/g, (_, c: string) => {
    if (/^[0-7]+$/.test(c)) return String.fromCharCode(Number.parseInt(c, 8));
    const map: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      e: '\x1b',
    };
    return map[c] ?? c;
  });
}

/** Directives GNU stat knows that the simulator cannot answer truthfully. */
const UNSUPPORTED = new Set([...'bBCdDfiImotTwWxXyYzZ']);

/** `stat -c|--format|--printf FORMAT [-L] [--] FILE...`; owners from sim/owners.json. */
export function statMain(ctx: Ctx, argv: string[]): void {
  let format: string | undefined;
  let newline = true;
  let follow = false;
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    const long = /^--(format|printf)(?:=(.*))?$/s.exec(a);
    if (long) {
      const v = long[2] ?? argv[++i];
      if (v === undefined) {
        usageError(ctx, 'stat', `option '--${long[1]}' requires an argument`);
        return;
      }
      format = long[1] === 'printf' ? printfEscapes(v) : v;
      newline = long[1] !== 'printf';
      continue;
    }
    if (a === '--dereference') {
      follow = true;
      continue;
    }
    if (a.startsWith('--')) {
      usageError(ctx, 'stat', `unrecognized option '${a}'`);
      return;
    }
    if (a.startsWith('-') && a !== '-') {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        if (c === 'L') follow = true;
        else if (c === 'c') {
          const v = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
          if (v === undefined) {
            usageError(ctx, 'stat', "option requires an argument -- 'c'");
            return;
          }
          format = v;
          newline = true;
          break;
        } else if ('ft'.includes(c)) {
          usageError(ctx, 'stat', `option '-${c}' is not supported by the Phoenix simulator`);
          return;
        } else {
          usageError(ctx, 'stat', `invalid option -- '${c}'`);
          return;
        }
      }
      continue;
    }
    operands.push(a);
  }
  if (!operands.length) {
    usageError(ctx, 'stat', 'missing operand');
    return;
  }
  if (format === undefined) {
    usageError(ctx, 'stat', 'the Phoenix simulator needs a format (-c, --format or --printf)');
    return;
  }
  const bad = [...format.matchAll(/%(.)/g)].map((m) => m[1]!).find((c) => UNSUPPORTED.has(c));
  if (bad) {
    usageError(ctx, 'stat', `'%${bad}' is not supported by the Phoenix simulator`);
    return;
  }
  const owners = readOwners(ctx);
  for (const p of operands) {
    const hostPath = simHostPathOf(ctx, p);
    const st = statOrUndefined(ctx.host.hostPath(hostPath), follow);
    if (!st) {
      // GNU stat goes on with the other operands and exits 1 at the end.
      ctx.io.err(`stat: cannot statx '${p}': No such file or directory\n`);
      ctx.exit = 1;
      continue;
    }
    const { uid, gid } = ownerOf(owners, hostPath);
    const line = format.replace(/%(.?)/gs, (whole, c: string) => {
      switch (c) {
        case '%':
          return '%';
        case '':
          return '%';
        case 'n':
          return p;
        case 'N':
          return `'${p.replaceAll("'", "'\\''")}'`;
        case 'u':
          return String(uid);
        case 'g':
          return String(gid);
        case 'U':
          return nameOf(USERS, uid);
        case 'G':
          return nameOf(GROUPS, gid);
        case 'F':
          return fileType(st);
        case 'a':
          return (st.mode & 0o7777).toString(8);
        case 'A':
          return modeString(st);
        case 's':
          return String(st.size);
        case 'h':
          return String(st.nlink);
        default:
          // coreutils prints '?' for a directive it does not know.
          return whole.length > 1 ? '?' : whole;
      }
    });
    ctx.out(newline ? `${line}\n` : line);
  }
}
