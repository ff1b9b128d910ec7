// Entry point of the simulator's commands (bin/sim/pct, qm, pvesh, pvesm): parse and validate
// arguments like PVE's CLIHandler, run the command against the state folder, print what Proxmox
// prints, log the call to $ROOT/calls.jsonl, and return the exit code.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getOptions, type Params, usageLine } from './args.js';
import { clusterNodes, isCluster, isNodeDown, sshNoRoute } from './cluster.js';
import { printPending } from './common.js';
import { Ctx } from './context.js';
import { simEnv } from './env.js';
import { ParamError, PveDie, SimCrash, SimGap, UsageError } from './errors.js';
import { parseFaults } from './faults.js';
import { flockMain } from './flock.js';
import { chownMain, mkdirMain, statMain } from './hostfs.js';
import { zfsMain } from './hosttools.js';
import { ensurePveLinks, initSimHost, isInitialized } from './init.js';
import { type Out, processOut } from './io.js';
import { LATENCY_S, simulate } from './latency.js';
import { pctMigrate, qmMigrate } from './migrate.js';
import * as pct from './pct.js';
import { pveamAvailable, pveamDownload, pveamList } from './pveam.js';
import { printApiResult, printChildren, pveshCall, pvesmList, pvesmStatus } from './pvesh.js';
import * as qm from './qm.js';
import { findHandler, methodProps, type Props, validateParams } from './schema.js';

interface CmdDef {
  /** Schema key: API method (`'POST /nodes/{node}/lxc'`) or CLI-only method (`'pct exec'`). */
  method: string;
  args: string[];
  run: (ctx: Ctx, p: Params) => void;
  /** Fault-injection operation name (default: the subcommand). */
  op?: string;
  /** Worker type of the task the command forks (`fork_worker($type, $vmid, ...)`), if any. */
  task?: string | ((p: Params) => string);
  /** The task's user when the method passes none to fork_worker (its default is root@pve). */
  taskUser?: string;
  /** The task's id when it is not the vmid (`pveam download`: the template name). */
  taskId?: (p: Params) => string;
}

const L = '/nodes/{node}/lxc/{vmid}';
const Q = '/nodes/{node}/qemu/{vmid}';

const PCT: Record<string, CmdDef> = {
  create: {
    method: 'POST /nodes/{node}/lxc',
    args: ['vmid', 'ostemplate'],
    run: pct.pctCreate,
    task: (p) => (p.restore === '1' ? 'vzrestore' : 'vzcreate'),
  },
  clone: { method: `POST ${L}/clone`, args: ['vmid', 'newid'], run: pct.pctClone, task: 'vzclone' },
  template: { method: `POST ${L}/template`, args: ['vmid'], run: pct.pctTemplate, task: 'vztemplate' },
  migrate: { method: `POST ${L}/migrate`, args: ['vmid', 'target'], run: pctMigrate, task: 'vzmigrate' },
  set: { method: `PUT ${L}/config`, args: ['vmid'], run: pct.pctSet },
  resize: { method: `PUT ${L}/resize`, args: ['vmid', 'disk', 'size'], run: pct.pctResize, task: 'resize' },
  start: { method: `POST ${L}/status/start`, args: ['vmid'], run: pct.pctStart, task: 'vzstart' },
  stop: {
    method: `POST ${L}/status/stop`,
    args: ['vmid'],
    run: (c, p) => pct.pctStop(c, p, false),
    task: 'vzstop',
  },
  shutdown: {
    method: `POST ${L}/status/shutdown`,
    args: ['vmid'],
    run: (c, p) => pct.pctStop(c, p, true),
    task: 'vzshutdown',
  },
  status: { method: 'pct status', args: ['vmid'], run: pct.pctStatus },
  config: { method: `GET ${L}/config`, args: ['vmid'], run: pct.pctConfig },
  list: { method: 'GET /nodes/{node}/lxc', args: [], run: (c) => pct.pctList(c) },
  snapshot: {
    method: `POST ${L}/snapshot`,
    args: ['vmid', 'snapname'],
    run: pct.pctSnapshot,
    task: 'vzsnapshot',
  },
  listsnapshot: { method: `GET ${L}/snapshot`, args: ['vmid'], run: pct.pctListsnapshot },
  delsnapshot: {
    method: `DELETE ${L}/snapshot/{snapname}`,
    args: ['vmid', 'snapname'],
    run: pct.pctDelsnapshot,
    task: 'vzdelsnapshot',
  },
  rollback: {
    method: `POST ${L}/snapshot/{snapname}/rollback`,
    args: ['vmid', 'snapname'],
    run: pct.pctRollback,
    task: 'vzrollback',
  },
  exec: { method: 'pct exec', args: ['vmid', 'extra-args'], run: pct.pctExec },
  pull: {
    method: 'pct pull',
    args: ['vmid', 'path', 'destination'],
    run: pct.pctPull,
    task: 'pull_file',
    taskUser: 'root@pve',
  },
  push: {
    method: 'pct push',
    args: ['vmid', 'file', 'destination'],
    run: pct.pctPush,
    task: 'push_file',
    taskUser: 'root@pve',
  },
  destroy: { method: `DELETE ${L}`, args: ['vmid'], run: pct.pctDestroy, task: 'vzdestroy' },
  unlock: { method: 'pct unlock', args: ['vmid'], run: pct.pctUnlock },
  pending: {
    method: `GET ${L}/pending`,
    args: ['vmid'],
    run: (c, p) => printPending(c, 'lxc', Number(p.vmid)),
  },
};

const QM: Record<string, CmdDef> = {
  create: {
    method: 'POST /nodes/{node}/qemu',
    args: ['vmid'],
    run: qm.qmCreate,
    task: (p) => (p.archive !== undefined ? 'qmrestore' : 'qmcreate'),
  },
  'disk import': {
    method: 'qm disk import',
    args: ['vmid', 'source', 'storage'],
    run: qm.qmDiskImport,
    op: 'import',
  },
  importdisk: {
    method: 'qm disk import',
    args: ['vmid', 'source', 'storage'],
    run: qm.qmDiskImport,
    op: 'import',
  },
  set: { method: `PUT ${Q}/config`, args: ['vmid'], run: qm.qmSet },
  template: { method: `POST ${Q}/template`, args: ['vmid'], run: qm.qmTemplate, task: 'qmtemplate' },
  clone: { method: `POST ${Q}/clone`, args: ['vmid', 'newid'], run: qm.qmClone, task: 'qmclone' },
  migrate: { method: `POST ${Q}/migrate`, args: ['vmid', 'target'], run: qmMigrate, task: 'qmigrate' },
  resize: { method: `PUT ${Q}/resize`, args: ['vmid', 'disk', 'size'], run: qm.qmResize, task: 'resize' },
  'disk resize': {
    method: `PUT ${Q}/resize`,
    args: ['vmid', 'disk', 'size'],
    run: qm.qmResize,
    op: 'resize',
    task: 'resize',
  },
  start: { method: `POST ${Q}/status/start`, args: ['vmid'], run: qm.qmStart, task: 'qmstart' },
  stop: {
    method: `POST ${Q}/status/stop`,
    args: ['vmid'],
    run: (c, p) => qm.qmStop(c, p, false),
    task: 'qmstop',
  },
  shutdown: {
    method: `POST ${Q}/status/shutdown`,
    args: ['vmid'],
    run: (c, p) => qm.qmStop(c, p, true),
    task: 'qmshutdown',
  },
  status: { method: 'qm status', args: ['vmid'], run: qm.qmStatus },
  config: { method: `GET ${Q}/config`, args: ['vmid'], run: qm.qmConfig },
  list: { method: 'qm list', args: [], run: (c) => qm.qmList(c) },
  snapshot: {
    method: `POST ${Q}/snapshot`,
    args: ['vmid', 'snapname'],
    run: qm.qmSnapshot,
    task: 'qmsnapshot',
  },
  listsnapshot: { method: `GET ${Q}/snapshot`, args: ['vmid'], run: qm.qmListsnapshot },
  delsnapshot: {
    method: `DELETE ${Q}/snapshot/{snapname}`,
    args: ['vmid', 'snapname'],
    run: qm.qmDelsnapshot,
    task: 'qmdelsnapshot',
  },
  rollback: {
    method: `POST ${Q}/snapshot/{snapname}/rollback`,
    args: ['vmid', 'snapname'],
    run: qm.qmRollback,
    task: 'qmrollback',
  },
  'guest cmd': { method: `POST ${Q}/agent`, args: ['vmid', 'command'], run: qm.qmGuestCmd, op: 'guest-cmd' },
  agent: { method: `POST ${Q}/agent`, args: ['vmid', 'command'], run: qm.qmGuestCmd, op: 'guest-cmd' },
  'guest exec': {
    method: 'qm guest exec',
    args: ['vmid', 'extra-args'],
    run: qm.qmGuestExec,
    op: 'guest-exec',
  },
  destroy: { method: `DELETE ${Q}`, args: ['vmid'], run: qm.qmDestroy, task: 'qmdestroy' },
  unlock: { method: 'qm unlock', args: ['vmid'], run: qm.qmUnlock },
  pending: {
    method: `GET ${Q}/pending`,
    args: ['vmid'],
    run: (c, p) => printPending(c, 'qemu', Number(p.vmid)),
  },
};

const PVESM: Record<string, CmdDef> = {
  status: { method: 'GET /nodes/{node}/storage', args: [], run: pvesmStatus },
  list: { method: 'GET /nodes/{node}/storage/{storage}/content', args: ['storage'], run: pvesmList },
};

const PVEAM: Record<string, CmdDef> = {
  available: { method: 'pveam available', args: [], run: pveamAvailable },
  download: {
    method: 'pveam download',
    args: ['storage', 'template'],
    run: pveamDownload,
    task: 'download',
    taskId: (p) => String(p.template),
  },
  list: { method: 'pveam list', args: ['storage'], run: pveamList },
};

const TABLES: Record<string, Record<string, CmdDef>> = { pct: PCT, qm: QM, pvesm: PVESM, pveam: PVEAM };

/** The host's own tools (not Proxmox's): no Perl start-up, GNU/OpenZFS conventions. */
const HOST_TOOLS: Record<string, (ctx: Ctx, argv: string[]) => void> = {
  zfs: zfsMain,
  chown: chownMain,
  mkdir: mkdirMain,
  stat: statMain,
  flock: flockMain,
};

/** pvesh's formatter options (PVE::CLIFormatter standard options). */
const FORMAT_PROPS: Props = {
  'output-format': { type: 'string', enum: ['text', 'json', 'json-pretty', 'yaml'], optional: 1 },
  noborder: { type: 'boolean', optional: 1 },
  noheader: { type: 'boolean', optional: 1 },
  'human-readable': { type: 'boolean', optional: 1 },
  quiet: { type: 'boolean', optional: 1 },
};

function resolve(cmd: string, argv: string[]): { name: string; def: CmdDef; rest: string[] } | undefined {
  const table = TABLES[cmd];
  if (!table) return undefined;
  const two = `${argv[0]} ${argv[1]}`;
  if (table[two]) return { name: two, def: table[two], rest: argv.slice(2) };
  const one = argv[0] ?? '';
  if (table[one]) return { name: one, def: table[one], rest: argv.slice(1) };
  return undefined;
}

function usageShort(io: Out, cmd: string, msg: string): void {
  io.err(`ERROR: ${msg}\nUSAGE: ${cmd} <COMMAND> [ARGS] [OPTIONS]\n`);
  for (const name of Object.keys(TABLES[cmd] ?? { get: 1 }).sort()) io.err(`       ${cmd} ${name}\n`);
}

function run(ctx: Ctx, cmd: string, argv: string[]): void {
  const io = ctx.io;
  const tool = HOST_TOOLS[cmd];
  if (tool) {
    tool(ctx, argv);
    return;
  }
  if (cmd === 'pvesh') {
    pvesh(ctx, argv);
    return;
  }
  const r = resolve(cmd, argv);
  if (!r) {
    usageShort(io, cmd, argv[0] ? `unknown command '${cmd} ${argv[0]}'` : 'no command specified');
    ctx.exit = 255;
    return;
  }
  const props = methodProps(r.def.method);
  const fixed = ['node'];
  const usage = usageLine(`${cmd} ${r.name}`, props, r.def.args, fixed);
  const params = withUsage(usage, () => getOptions(io, r.rest, props, r.def.args, fixed));
  const toCheck = Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'extra-args'));
  const errors = validateParams(props.node ? { ...toCheck, node: ctx.host.node } : toCheck, props);
  delete errors['extra-args'];
  if (Object.keys(errors).length)
    withUsage(usage, () => {
      throw new ParamError(errors);
    });
  const task = r.def.task;
  if (task) {
    ctx.taskSpec = {
      type: typeof task === 'function' ? task(params) : task,
      id: r.def.taskId ? r.def.taskId(params) : typeof params.vmid === 'string' ? params.vmid : '',
      user: r.def.taskUser ?? 'root@pam',
    };
  }
  withUsage(usage, () => r.def.run(ctx, params));
}

/** pvesh's commands and the HTTP method each calls (pve-manager PVE/CLI/pvesh.pm:79-84, 666-672). */
const PVESH_METHOD: Record<string, string> = {
  ls: 'GET',
  get: 'GET',
  set: 'PUT',
  create: 'POST',
  delete: 'DELETE',
};

/**
 * `pvesh ls|get|set|create|delete <api_path> [OPTIONS] [FORMAT_OPTIONS]`. A path without a handler
 * for the method fails before any option is parsed, `No '<cmd>' handler defined for '<path>'`,
 * exit 1 (`extract_path_info`, pvesh.pm:227-258); `ls` instead says `no such resource` /
 * `does not define child links` (:455-470). Options are the API method's own (validated against
 * the schema); what the API defines but the simulator does not serve fails loudly (exit 70).
 */
function pvesh(ctx: Ctx, argv: string[]): void {
  const io = ctx.io;
  const sub = argv[0];
  const method = sub === undefined ? undefined : PVESH_METHOD[sub];
  if (!sub || !method) {
    io.err(
      `ERROR: ${sub ? `unknown command 'pvesh ${sub}'` : 'no command specified'}\nUSAGE: pvesh <COMMAND> [ARGS] [OPTIONS]\n`,
    );
    for (const name of ['create', 'delete', 'get', 'ls', 'set', 'usage']) io.err(`       pvesh ${name}\n`);
    ctx.exit = 255;
    return;
  }
  const path = argv[1];
  const usage = `pvesh ${sub} <api_path> [OPTIONS] [FORMAT_OPTIONS]`;
  if (!path || path.startsWith('-'))
    withUsage(usage, () => {
      throw new UsageError('not enough arguments');
    });
  const h = findHandler(method, path!);
  if (!h) {
    if (sub === 'ls') throw new PveDie(`no such resource '${path}'`);
    io.err(`No '${sub}' handler defined for '${path}'\n`);
    ctx.exit = 1;
    return;
  }
  if (sub === 'ls' && !h.childLink) throw new PveDie(`resource '${path}' does not define child links`);
  const apiKey = `${method} ${h.template}`;
  let props: Props;
  try {
    props = methodProps(apiKey);
  } catch {
    throw new SimGap(`pvesh ${sub} ${h.template} is not simulated`);
  }
  const all: Props = { ...props, ...FORMAT_PROPS };
  const fixed = Object.keys(h.vars);
  const params = withUsage(usage, () => getOptions(io, argv.slice(2), all, [], fixed));
  const apiParams = Object.fromEntries(Object.entries(params).filter(([k]) => !FORMAT_PROPS[k]));
  const errors = validateParams({ ...apiParams, ...h.vars }, props);
  for (const [k, v] of Object.entries(params)) {
    if (FORMAT_PROPS[k] && typeof v === 'string')
      Object.assign(errors, validateParams({ [k]: v }, { [k]: FORMAT_PROPS[k]! }));
  }
  if (Object.keys(errors).length)
    withUsage(usage, () => {
      throw new ParamError(errors);
    });
  const merged: Params = { ...params, ...h.vars };
  withUsage(usage, () => {
    const data = pveshCall(ctx, method, h.template, path!, merged);
    if (sub === 'ls') printChildren(ctx, path!, h.childLink!, data, params);
    else if (data !== undefined) printApiResult(ctx, data, params);
  });
}

class WithUsage extends Error {
  constructor(
    readonly inner: ParamError | UsageError,
    readonly usage: string,
  ) {
    super(inner.message);
  }
}

/** Parameter exceptions get the command's usage line appended, as RESTHandler::cli_handler does. */
function withUsage<T>(usage: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ParamError || e instanceof UsageError) throw new WithUsage(e, usage);
    throw e;
  }
}

function opName(cmd: string, argv: string[]): string {
  const r = resolve(cmd, argv);
  if (!r) return argv[0] ?? '';
  if (r.name === 'guest cmd' || r.name === 'agent')
    return r.rest.includes('ping') ? 'guest-ping' : 'guest-cmd';
  return r.def.op ?? r.name;
}

/** Runs one simulated command; returns its exit code. `vars` defaults to the process environment. */
export function main(
  cmd: string,
  argv: string[],
  io: Out = processOut,
  vars: NodeJS.ProcessEnv = process.env,
): number {
  const env = simEnv(vars);
  const start = Date.now();
  const speedText = vars.PHOENIX_SIM_SPEED;
  if (speedText !== undefined && speedText !== '' && !(Number(speedText) >= 0)) {
    io.err(`PHOENIX_SIM_SPEED must be a number >= 0 (0 = no sleeping, 1 = realistic), got '${speedText}'\n`);
    return 2;
  }
  const faults = parseFaults(env.faults);
  if (!faults.ok) {
    io.err(`${faults.error}\n`);
    return 2;
  }
  if (!isInitialized(env.root)) initSimHost(env.root, env.node);
  const cluster = isCluster(env.root);
  if (!cluster) ensurePveLinks(env.root, env.node);
  const log = (exit: number | null, signal?: string): void => {
    const rec: Record<string, unknown> = { cmd, args: argv, exit, start, end: Date.now() };
    if (cluster) rec.node = env.node;
    if (signal) rec.signal = signal;
    try {
      mkdirSync(env.root, { recursive: true });
      appendFileSync(join(env.root, 'calls.jsonl'), `${JSON.stringify(rec)}\n`);
    } catch {
      // the log must never break a command
    }
  };
  if (cluster) {
    const nodes = clusterNodes(env.root);
    if (!nodes.includes(env.node)) {
      io.err(
        `phoenix-sim: PHOENIX_SIM_NODE='${env.node}' is not a node of the simulated cluster (${nodes.join(', ')})\n`,
      );
      log(70);
      return 70;
    }
    // Contract: a command on a down node fails like the ssh that would carry it.
    if (isNodeDown(env.root, env.node)) {
      io.err(`${sshNoRoute(env.node)}\n`);
      log(255);
      return 255;
    }
  }
  const ctx = new Ctx(env, io, cmd, opName(cmd, argv), faults.value);
  ctx.onCrash = () => log(null, 'SIGKILL');
  if (!HOST_TOOLS[cmd]) {
    // Perl's start-up. A simulator process has already paid Node's own start-up, so it sleeps
    // only the rest and realistic-speed runs match the model; in-process callers (the
    // benchmarks pass their own `io`) paid none and are charged all of it.
    const model = LATENCY_S.processStart * env.speed;
    const paid = io === processOut ? process.uptime() : 0;
    simulate('processStart', env.speed, paid > 0 && model > 0 ? Math.max(0, model - paid) / model : 1);
  }
  try {
    run(ctx, cmd, argv);
  } catch (e) {
    if (e instanceof SimCrash) return 137;
    ctx.exit = 255;
    if (e instanceof WithUsage) {
      if (e.inner instanceof ParamError) {
        let text = '400 Parameter verification failed.\n';
        for (const k of Object.keys(e.inner.errors).sort()) text += `${k}: ${e.inner.errors[k]}\n`;
        io.err(`${text}${e.usage}\n`);
      } else io.err(`400 ${e.inner.message}\n${e.usage}\n`);
    } else if (e instanceof SimGap) {
      io.err(`phoenix-sim: ${e.message}\n`);
      ctx.exit = 70;
    } else if (e instanceof PveDie) {
      io.err(`${e.message}\n`);
    } else {
      io.err(`phoenix-sim: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      if (process.env.PHOENIX_DEBUG) io.err(`${(e as Error).stack}\n`);
      ctx.exit = 70;
    }
  }
  log(ctx.exit);
  return ctx.exit;
}
