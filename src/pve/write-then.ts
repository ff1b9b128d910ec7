// A host file written and a command run in ONE host call (over SSH one round trip instead of
// two): `sh -c` with a constant script whose values are all arguments. The file is written beside
// and renamed, so a reader never sees half of it; when it cannot be written the command does not
// run. Then the command replaces the shell (`exec`): its exit code, output and signals are the
// caller's. Used for a creation's birth record (births.ts) and a guest's firewall file written
// with its config step's `pct|qm set`.

// $1: the folder, $2: the file name, $3: the text; the rest: the command.
// `command -p`: the system's own mkdir and mv, whatever PATH puts first (the simulator's host
// tools take unmapped host paths; this script is given paths as the runner maps them).
export const WRITE_THEN_SCRIPT = [
  'f="$1/$2"; t="$f.phoenix-$$.tmp"',
  'command -p mkdir -p -- "$1" && printf %s "$3" > "$t" && command -p mv -f -- "$t" "$f" || { echo "phoenix: cannot write $f" >&2; exit 1; }',
  'shift 3',
  'exec "$@"',
].join('\n');

const ARGV0 = 'phoenix-write';

/** `cmd args` preceded by writing `text` to the host file `hostPath`, as one host call. */
export function writeThen(
  hostPath: string,
  text: string,
  mapPath: (hostPath: string) => string,
  cmd: string,
  args: string[],
): [string, string[]] {
  const file = mapPath(hostPath);
  const cut = file.lastIndexOf('/');
  return [
    'sh',
    ['-c', WRITE_THEN_SCRIPT, ARGV0, file.slice(0, cut), file.slice(cut + 1), text, cmd, ...args],
  ];
}

/** The parts of a `writeThen` command (for runners that serve the command themselves). */
export function unwrapWriteThen(
  cmd: string,
  args: readonly string[],
): { dir: string; file: string; text: string; cmd: string; args: string[] } | undefined {
  if (cmd !== 'sh' || args[0] !== '-c' || args[1] !== WRITE_THEN_SCRIPT || args[2] !== ARGV0)
    return undefined;
  const [dir, file, text, inner, ...rest] = args.slice(3);
  if (dir === undefined || file === undefined || text === undefined || inner === undefined) return undefined;
  return { dir, file, text, cmd: inner, args: rest };
}
