// Commands "run" in a guest by `pct exec` and `qm guest exec`. Nothing runs on this machine: the
// call is recorded in sim/guests/<vmid>/exec.jsonl and answered from sim/exec-rules.json (first
// match), else by a small model of the commands an orchestrator uses, over the guest file model
// (guestfs.ts). argv is executed without a shell, as lxc-attach does (`execvp`, lxc
// src/lxc/attach.c:1827-1845): a program missing from the guest fails with 127, a shell builtin
// such as `command` is no program. What the model cannot answer fails loudly (exit 70).
import { createHash } from 'node:crypto';
import type { Ctx } from './context.js';
import { PveDie } from './errors.js';
import { GuestFs } from './guestfs.js';
import { readJson } from './io.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
  exit: number;
}

interface ExecRule {
  vmid?: number;
  /** Regular expression matched against the command joined with spaces. */
  match: string;
  /** Regular expression the command's standard input must match too (the rule then reads stdin). */
  matchStdin?: string;
  /** The command reads its standard input to EOF (as `read`, `cat`, a dpkg prompt would). */
  readsStdin?: boolean;
  stdout?: string;
  stderr?: string;
  exit?: number;
}

/** What the caller gives the guest command as stdin; read only by commands that read it. */
export type StdinSource = () => string | undefined;

const ok = (stdout = ''): ExecResult => ({ stdout, stderr: '', exit: 0 });
const fail = (stderr: string, exit = 1, stdout = ''): ExecResult => ({ stdout, stderr, exit });

/** The model has no answer: say so and how to give one, never pretend success. */
function unmodelled(vmid: number, argv: string[], why: string): ExecResult {
  return fail(
    `phoenix-sim: cannot answer '${argv.join(' ')}' in guest ${vmid}: ${why}; add a rule to $PHOENIX_SIM_ROOT/sim/exec-rules.json\n`,
    70,
  );
}

/**
 * Runs a command "in" a guest and records it. `via` is `pct exec` or `qm guest exec`; `stdin`
 * reads what the caller passes (for `pct exec` the process's own stdin, which blocks until EOF
 * exactly as lxc-attach's does, pve-container src/PVE/CLI/pct.pm:238-255).
 */
export function execInGuest(
  ctx: Ctx,
  vmid: number,
  argv: string[],
  via: 'pct exec' | 'qm guest exec',
  stdin: StdinSource,
): ExecResult {
  let res: ExecResult;
  let input: string | undefined;
  let read = false;
  const readStdin = (): string => {
    if (!read) input = stdin();
    read = true;
    return input ?? '';
  };
  // The agent gets `input-data` with the request whether or not the command reads it.
  if (via === 'qm guest exec') readStdin();
  try {
    ctx.faultPoint([vmid], via === 'pct exec' ? 'exec' : 'guest-exec');
    res = answer(ctx, vmid, argv, via, readStdin);
  } catch (e) {
    if (!(e instanceof PveDie)) throw e;
    res = { stdout: '', stderr: `${e.message}\n`, exit: 1 };
  }
  ctx.appendJsonl(ctx.host.simPath('guests', String(vmid), 'exec.jsonl'), {
    time: new Date().toISOString(),
    via,
    cmd: argv,
    ...(input === undefined ? {} : { stdin: input }),
    exit: res.exit,
  });
  return res;
}

/** A guest's files; /etc/hostname holds the name the CT had at its last start (see Runtime.hostname). */
export function guestFsOf(ctx: Ctx, vmid: number): GuestFs {
  const kind = ctx.host.confExists('lxc', vmid) ? 'lxc' : 'qemu';
  const sec = ctx.host.loadConf(kind, vmid).main;
  const hostname =
    ctx.host.runtime(vmid).hostname ??
    sec.props.hostname ??
    sec.props.name ??
    (kind === 'lxc' ? `CT${vmid}` : `VM${vmid}`);
  return new GuestFs(ctx.host, vmid, { '/etc/hostname': `${hostname}\n` });
}

function answer(ctx: Ctx, vmid: number, argv: string[], via: string, stdin: () => string): ExecResult {
  const line = argv.join(' ');
  for (const r of readJson<ExecRule[]>(ctx.host.simPath('exec-rules.json'), [])) {
    if (r.vmid !== undefined && r.vmid !== vmid) continue;
    if (!new RegExp(r.match).test(line)) continue;
    if (r.matchStdin !== undefined && !new RegExp(r.matchStdin).test(stdin())) continue;
    if (r.readsStdin) stdin();
    return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', exit: r.exit ?? 0 };
  }
  const fs = guestFsOf(ctx, vmid);
  const [program = '', ...args] = argv;
  if (via === 'pct exec' && !fs.which(program)) {
    // lxc-attach: execvp fails, exit 127 for ENOENT (lxc src/lxc/attach.c:1832-1845,
    // src/lxc/tools/lxc_attach.c:446-454).
    return fail(
      `lxc-attach: ${vmid}: ../src/lxc/attach.c: lxc_attach_run_command: 1845 No such file or directory - Failed to exec "${program}"\n`,
      127,
    );
  }
  const name = program.split('/').pop()!;
  const model = MODEL[name];
  if (!model) return unmodelled(vmid, argv, `'${name}' is not modelled`);
  return model({ fs, vmid, args, argv, stdin });
}

interface Call {
  fs: GuestFs;
  vmid: number;
  args: string[];
  argv: string[];
  stdin: () => string;
}

/** Splits `-abc` style flags from operands (stops at `--` or the first operand); undefined on an unknown flag. */
function flags(args: string[], allowed: string): { set: Set<string>; rest: string[] } | undefined {
  const set = new Set<string>();
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!/^-[A-Za-z]+$/.test(a)) break;
    for (const c of a.slice(1)) {
      if (!allowed.includes(c)) return undefined;
      set.add(c);
    }
  }
  return { set, rest: args.slice(i) };
}

/** Absolute paths only: lxc-attach keeps the caller's cwd (lxc src/lxc/attach.c:1600-1609), unknown here. */
function paths(c: Call, operands: string[]): string[] | ExecResult {
  const out: string[] = [];
  for (const p of operands) {
    const abs = GuestFs.normalize(p);
    if (!abs) return unmodelled(c.vmid, c.argv, `relative path '${p}' (the guest cwd is not modelled)`);
    out.push(abs);
  }
  return out;
}

const isResult = (x: unknown): x is ExecResult => !Array.isArray(x);

function testExpr(c: Call, e: string[]): ExecResult {
  if (e[0] === '!' && e.length > 1) {
    const r = testExpr(c, e.slice(1));
    return r.exit > 1 ? r : { ...r, exit: r.exit === 0 ? 1 : 0 };
  }
  const yes = (b: boolean): ExecResult => ({ stdout: '', stderr: '', exit: b ? 0 : 1 });
  if (e.length === 0) return yes(false);
  if (e.length === 1) return yes(e[0] !== '');
  if (e.length === 2 && /^-[nz]$/.test(e[0]!)) return yes((e[0] === '-n') === (e[1] !== ''));
  if (e.length === 2 && /^-[fedsx]$/.test(e[0]!)) {
    const abs = paths(c, [e[1]!]);
    if (isResult(abs)) return abs;
    const k = c.fs.kind(abs[0]!);
    if (e[0] === '-e') return yes(k !== undefined);
    if (e[0] === '-d') return yes(k === 'dir');
    if (e[0] === '-f') return yes(k === 'file');
    if (e[0] === '-s') return yes(k === 'file' ? c.fs.size(abs[0]!) > 0 : k === 'dir');
    return yes(k !== undefined); // -x: base programs and pushed files with perms are not told apart
  }
  if (e.length === 3 && (e[1] === '=' || e[1] === '!=')) return yes((e[0] === e[2]) === (e[1] === '='));
  return unmodelled(c.vmid, c.argv, 'test expression not modelled');
}

const MODEL: Record<string, (c: Call) => ExecResult> = {
  true: () => ok(),
  false: () => fail('', 1),
  echo: (c) => {
    const n = c.args[0] === '-n';
    const words = n ? c.args.slice(1) : c.args;
    return ok(`${words.join(' ')}${n ? '' : '\n'}`);
  },
  hostname: (c) =>
    c.args.length
      ? unmodelled(c.vmid, c.argv, 'hostname options')
      : ok(c.fs.read('/etc/hostname')!.toString()),
  test: (c) => testExpr(c, c.args),
  '[': (c) =>
    c.args[c.args.length - 1] === ']' ? testExpr(c, c.args.slice(0, -1)) : fail("[: missing ']'\n", 2),
  cat: (c) => {
    const f = flags(c.args, '');
    if (!f) return unmodelled(c.vmid, c.argv, 'cat options');
    if (f.rest.length === 0) return ok(c.stdin());
    let out = '';
    let err = '';
    for (const p of f.rest) {
      if (p === '-') {
        out += c.stdin();
        continue;
      }
      const abs = paths(c, [p]);
      if (isResult(abs)) return abs;
      const k = c.fs.kind(abs[0]!);
      if (k === 'dir') err += `cat: ${p}: Is a directory\n`;
      else if (!k) err += `cat: ${p}: No such file or directory\n`;
      else out += c.fs.read(abs[0]!)!.toString('utf8');
    }
    return { stdout: out, stderr: err, exit: err ? 1 : 0 };
  },
  mkdir: (c) => {
    const f = flags(c.args, 'pv');
    if (!f || f.rest.length === 0) return unmodelled(c.vmid, c.argv, 'mkdir options');
    const abs = paths(c, f.rest);
    if (isResult(abs)) return abs;
    let err = '';
    for (const [i, dir] of abs.entries()) {
      const chain = f.set.has('p')
        ? dir.split('/').map((_, j, a) => a.slice(0, j + 1).join('/') || '/')
        : [dir];
      for (const d of chain) {
        const r = c.fs.mkdir(d);
        if (r === 'exists' && (f.set.has('p') ? c.fs.kind(d) === 'dir' : false)) continue;
        if (r === 'ok') continue;
        const why =
          r === 'exists' ? 'File exists' : r === 'notdir' ? 'Not a directory' : 'No such file or directory';
        err += `mkdir: cannot create directory '${f.rest[i]}': ${why}\n`;
        break;
      }
    }
    return fail(err, err ? 1 : 0);
  },
  rm: (c) => {
    const f = flags(c.args, 'frRv');
    if (!f) return unmodelled(c.vmid, c.argv, 'rm options');
    const abs = paths(c, f.rest);
    if (isResult(abs)) return abs;
    let err = '';
    for (const [i, p] of abs.entries()) {
      const k = c.fs.kind(p);
      if (!k) {
        if (!f.set.has('f')) err += `rm: cannot remove '${f.rest[i]}': No such file or directory\n`;
      } else if (k === 'dir' && !f.set.has('r') && !f.set.has('R')) {
        err += `rm: cannot remove '${f.rest[i]}': Is a directory\n`;
      } else c.fs.remove(p);
    }
    return fail(err, err ? 1 : 0);
  },
  touch: (c) => {
    const f = flags(c.args, '');
    if (!f) return unmodelled(c.vmid, c.argv, 'touch options');
    const abs = paths(c, f.rest);
    if (isResult(abs)) return abs;
    let err = '';
    for (const [i, p] of abs.entries()) {
      if (c.fs.kind(p)) continue;
      if (c.fs.write(p, '') !== 'ok')
        err += `touch: cannot touch '${f.rest[i]}': No such file or directory\n`;
    }
    return fail(err, err ? 1 : 0);
  },
  sha256sum: (c) => {
    const f = flags(c.args, '');
    if (!f || f.rest.length === 0) return unmodelled(c.vmid, c.argv, 'sha256sum of stdin or with options');
    const abs = paths(c, f.rest);
    if (isResult(abs)) return abs;
    let out = '';
    let err = '';
    for (const [i, p] of abs.entries()) {
      const k = c.fs.kind(p);
      if (k === 'dir') err += `sha256sum: ${f.rest[i]}: Is a directory\n`;
      else if (!k) err += `sha256sum: ${f.rest[i]}: No such file or directory\n`;
      else out += `${createHash('sha256').update(c.fs.read(p)!).digest('hex')}  ${f.rest[i]}\n`;
    }
    return { stdout: out, stderr: err, exit: err ? 1 : 0 };
  },
  // A healthy image's first boot is over (cloud-init status prints `status: done`).
  'cloud-init': (c) =>
    c.args[0] === 'status' && c.args.slice(1).every((a) => a === '--wait' || a === '-w')
      ? ok('status: done\n')
      : unmodelled(c.vmid, c.argv, 'cloud-init subcommand'),
  bash: (c) => shell(c, 'bash'),
  sh: (c) => shell(c, 'sh'),
  dash: (c) => shell(c, 'sh'),
};

/**
 * A shell: `-c STRING` and scripts are recorded and succeed unless a rule says otherwise (their
 * effects are not modelled); a missing script fails as bash/dash report it; with no script or
 * `-s` the shell reads its commands from stdin.
 */
function shell(c: Call, name: 'bash' | 'sh'): ExecResult {
  let i = 0;
  let fromStdin = false;
  for (; i < c.args.length; i++) {
    const a = c.args[i]!;
    if (a === '-c') return ok();
    if (a === '-s') fromStdin = true;
    else if (a === '--') {
      i++;
      break;
    } else if (/^-[eux]+$|^-o$/.test(a)) {
      if (a === '-o') i++;
    } else break;
  }
  const script = c.args[i];
  if (fromStdin || script === undefined) {
    c.stdin();
    return ok();
  }
  const abs = GuestFs.normalize(script);
  if (!abs) return unmodelled(c.vmid, c.argv, `relative script path '${script}'`);
  const k = c.fs.kind(abs);
  if (k === 'file') return ok();
  if (name === 'bash')
    return fail(
      `bash: ${script}: ${k === 'dir' ? 'Is a directory' : 'No such file or directory'}\n`,
      k === 'dir' ? 126 : 127,
    );
  return fail(`sh: 0: cannot open ${script}: No such file\n`, 2);
}
