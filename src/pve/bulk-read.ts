// The one non-Perl host call of a state read: every guest config, firewall file and birth record
// (one `grep -rH` over /etc/pve and the births folder), and when the config needs them the
// subordinate id files and the owners of the host folders behind bind mounts (`stat`), all in
// one command so a no-op costs one round trip here plus one `pvesh` (host.ts). The script is a
// constant; every path is a separate argument (never pasted into shell text).
import { BIRTHS_DIR } from './births.js';

export interface FileReadNeeds {
  idFiles?: boolean;
  hostDirs?: string[];
}

// $1..$3: the grep roots; $4 $5: /etc/subuid /etc/subgid or `-` `-`; the rest: folders to stat.
// grep exits 1 when nothing matched (no guests) and 2 when a root is missing (no firewall files
// or birth records yet): neither is an error. stat exits 1 when some folder is missing.
export const FILE_READ_SCRIPT = [
  'g=0',
  "grep -rH --include='*.conf' --include='*.fw' --include='*.json' '' \"$1\" \"$2\" \"$3\" || g=$?",
  'shift 3',
  'if [ "$1" != - ]; then grep -H \'\' -- "$1" "$2" 2>/dev/null; fi',
  'shift 2',
  's=0',
  `if [ $# -gt 0 ]; then echo '${'#phoenix:stat'}'; stat -c '%u:%g %n' -- "$@" || s=$?; fi`,
  'if [ "$g" -gt 2 ]; then exit 3; fi',
  'if [ "$s" -gt 1 ]; then exit 4; fi',
].join('\n');

const STAT_MARK = '#phoenix:stat';

const GREP_ROOTS = ['/etc/pve/nodes', '/etc/pve/firewall', BIRTHS_DIR];

/**
 * The command of the file read: plain `grep` when only /etc/pve is needed (no shell at all),
 * else `sh -c FILE_READ_SCRIPT` with the paths as arguments.
 */
export function fileReadCommand(needs: FileReadNeeds, mapPath: (p: string) => string): [string, string[]] {
  const roots = GREP_ROOTS.map(mapPath);
  const dirs = needs.hostDirs ?? [];
  if (!needs.idFiles && dirs.length === 0) {
    return ['grep', ['-rH', '--include=*.conf', '--include=*.fw', '--include=*.json', '', ...roots]];
  }
  const ids = needs.idFiles ? [mapPath('/etc/subuid'), mapPath('/etc/subgid')] : ['-', '-'];
  return ['sh', ['-c', FILE_READ_SCRIPT, 'phoenix-read', ...roots, ...ids, ...dirs]];
}

export interface FileRead {
  /** `grep -rH` lines of /etc/pve and the births folder. */
  lines: string[];
  subids?: { uid: string; gid: string };
  hostDirs?: Map<string, { uid: number; gid: number }>;
}

/** Splits the command's output; `undefined` when the command failed (exit code beyond its "nothing found" codes). */
export function parseFileRead(
  out: { exitCode: number; stdout: string },
  needs: FileReadNeeds,
  mapPath: (p: string) => string,
): FileRead | undefined {
  if (out.exitCode > 2) return undefined;
  const lines = out.stdout.split('\n');
  const mark = lines.indexOf(STAT_MARK);
  const grepLines = mark < 0 ? lines : lines.slice(0, mark);
  const result: FileRead = { lines: grepLines };
  if (needs.idFiles) {
    const uidPrefix = `${mapPath('/etc/subuid')}:`;
    const gidPrefix = `${mapPath('/etc/subgid')}:`;
    const uid: string[] = [];
    const gid: string[] = [];
    for (const l of grepLines) {
      if (l.startsWith(uidPrefix)) uid.push(l.slice(uidPrefix.length));
      else if (l.startsWith(gidPrefix)) gid.push(l.slice(gidPrefix.length));
    }
    const text = (xs: string[]) => (xs.length ? `${xs.join('\n')}\n` : '');
    result.subids = { uid: text(uid), gid: text(gid) };
  }
  if (needs.hostDirs?.length) result.hostDirs = parseStat(mark < 0 ? [] : lines.slice(mark + 1));
  return result;
}

/** `stat -c '%u:%g %n'` lines (missing folders print nothing on stdout). */
function parseStat(lines: string[]): Map<string, { uid: number; gid: number }> {
  const out = new Map<string, { uid: number; gid: number }>();
  for (const line of lines) {
    const m = /^(\d+):(\d+) (.+)$/.exec(line.trimEnd());
    if (m) out.set(m[3]!, { uid: Number(m[1]), gid: Number(m[2]) });
  }
  return out;
}
