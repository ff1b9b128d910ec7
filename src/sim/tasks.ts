// Worker tasks as a Proxmox node tracks them, kept where Proxmox keeps them under the state folder:
//   var/log/pve/tasks/active          one line per recent task: `<upid> <saved 0|1>[ <endtime hex8>[ <status>]]`
//                                     (pve-common PVE::INotify read/write_active_workers)
//   var/log/pve/tasks/index(.1)       the archive: `<upid> <endtime hex8> <status>`, rotated at 50000 bytes
//   var/log/pve/tasks/<X>/<upid>      the task log, X = last hex digit of the start time, ending in
//                                     `TASK OK` / `TASK ERROR: <msg>` / `TASK WARNINGS: <n>`
// The active file is rewritten under the flock `var/log/pve/tasks/.active.lock` (10 s), exactly as
// RESTEnvironment::active_workers does, so concurrent commands never lose an entry.
//
// A task is registered when its worker forks (`fork_worker` → `active_workers($upid, $sync)`) and
// archived when it ends (`log_task_result` → `active_workers($upid)`), or — for a worker that was
// killed — by the next `active_workers` run, which sees its pid dead or reused (pid + pstart, as
// PVE::ProcFSTools::check_process_running). That run happens at the next worker start on the node
// and in pvestatd every 10 s; `GET /nodes/{node}/tasks --source active` itself does NOT check pids, so a
// killed task stays listed as RUNNING until then. `GET /nodes/{node}/tasks/{upid}/status` does check.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Params } from './args.js';
import { ParamError } from './errors.js';
import type { SimHost } from './host.js';
import { readJson, readText, writeFileAtomic, writeJson } from './io.js';
import { LATENCY_S } from './latency.js';
import { withFileLock } from './lock.js';

/** What `fork_worker($dtype, $id, $user, ...)` is called with. */
export interface TaskSpec {
  type: string;
  id: string;
  user: string;
}

/** The fields of a decoded UPID (PVE::UPID::decode). */
export interface TaskFields {
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
}

interface ActiveEntry extends TaskFields {
  upid: string;
  /** '0' or '1' as read from the file: archived into the index already? */
  saved: string;
  endtime?: number;
  status?: string;
}

const TASK_DIR = '/var/log/pve/tasks';
const ACTIVE = `${TASK_DIR}/active`;
const ACTIVE_LOCK = `${TASK_DIR}/.active.lock`;
const INDEX = `${TASK_DIR}/index`;

const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');

/** PVE::UPID::encode: `UPID:$node:%08X pid:%08X pstart:%08X starttime:$type:$id:$user:`. */
export function encodeUpid(d: TaskFields): string {
  return `UPID:${d.node}:${hex8(d.pid)}:${hex8(d.pstart)}:${hex8(d.starttime)}:${d.type}:${d.id}:${d.user}:`;
}

const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

/** PVE::UPID::decode with $noerr: the fields and the task log path, or undefined. */
export function decodeUpid(upid: string): { task: TaskFields; log: string } | undefined {
  const m = UPID_RE.exec(upid);
  if (!m) return undefined;
  const task: TaskFields = {
    node: m[1]!,
    pid: Number.parseInt(m[3]!, 16),
    pstart: Number.parseInt(m[4]!, 16),
    starttime: Number.parseInt(m[5]!, 16),
    type: m[6]!,
    id: m[7]!,
    user: m[8]!,
  };
  return { task, log: `${TASK_DIR}/${m[5]!.slice(7, 8)}/${upid}` };
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot) and the state letter. */
function procStat(pid: number): { starttime: number; state: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', starttime: Number(fields[19]) };
}

const HAVE_PROC = existsSync('/proc/self/stat');

/** PVE::ProcFSTools::read_proc_starttime of this process (1 where /proc is missing, e.g. macOS). */
function ownPstart(): number {
  return procStat(process.pid)?.starttime || 1;
}

/** PVE::ProcFSTools::check_process_running: alive, same start time (no pid reuse), not a zombie. */
export function processRunning(pid: number, pstart: number): boolean {
  if (!HAVE_PROC) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const st = procStat(pid);
  return !!st && (!pstart || st.starttime === pstart) && st.state !== 'Z';
}

/** PVE::UPID::read_status: the outcome from the last line of the task log. */
export function readStatus(host: SimHost, upid: string): string {
  const d = decodeUpid(upid);
  const text = d ? readText(host.hostPath(d.log)) : undefined;
  if (text === undefined)
    return `unable to get last line from task log - can't open file - No such file or directory`;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const line = lines[lines.length - 1] ?? '';
  if (line === 'TASK OK') return 'OK';
  const err = /^TASK ERROR: (.+)$/.exec(line);
  if (err) return err[1]!;
  const warn = /^TASK (WARNINGS: \d+)$/.exec(line);
  if (warn) return warn[1]!;
  return 'unexpected status';
}

function parseActive(text: string): ActiveEntry[] {
  const out: ActiveEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s(0|1)(\s([0-9A-Za-z]{8})(\s(\s*\S.*))?)?$/.exec(line);
    if (!m) continue;
    const d = decodeUpid(m[1]!);
    if (!d) continue;
    const e: ActiveEntry = { ...d.task, upid: m[1]!, saved: m[2]! };
    if (m[4]) e.endtime = Number.parseInt(m[4], 16);
    if (m[6]) e.status = m[6];
    out.push(e);
  }
  return out;
}

function formatActive(list: ActiveEntry[]): string {
  return list
    .map((t) => {
      const saved = t.saved === '1' ? 1 : 0;
      if (!t.endtime) return `${t.upid} ${saved}\n`;
      return t.status
        ? `${t.upid} ${saved} ${hex8(t.endtime)} ${t.status}\n`
        : `${t.upid} ${saved} ${hex8(t.endtime)}\n`;
    })
    .join('');
}

/**
 * RESTEnvironment::active_workers: re-reads the active file, moves every task whose process is gone
 * to the archive (endtime = now, status from its log) and keeps the running ones plus the most recent
 * ended ones, 25 at most. `add` is a new task taken as running without a check (`$nocheck`);
 * `ended` is this process's own task that just finished (its worker would have exited by now).
 */
export function activeWorkers(host: SimHost, opts: { add?: string; ended?: string } = {}): void {
  const shown = ACTIVE_LOCK;
  // [GUESS] quiet: Proxmox prints `trying to acquire lock...` here too, but its flock is held for
  // microseconds; the simulator's emulated lock is slower and would print it far more often.
  withFileLock(host.io, host.hostPath(shown), shown, 10, false, () => processActive(host, opts), true);
}

function processActive(host: SimHost, opts: { add?: string; ended?: string }): void {
  const path = host.hostPath(ACTIVE);
  const tasklist = parseActive(readText(path) ?? '');
  const running: ActiveEntry[] = [];
  const ended: ActiveEntry[] = [];
  const seen = new Set<string>();
  const check = (t: ActiveEntry, nocheck: boolean): void => {
    const alive = nocheck || (t.upid !== opts.ended && processRunning(t.pid, t.pstart));
    (alive ? running : ended).push(t);
  };
  for (const t of tasklist) {
    if (seen.has(t.upid)) continue;
    seen.add(t.upid);
    check(t, false);
  }
  if (opts.add && !seen.has(opts.add)) {
    const d = decodeUpid(opts.add);
    if (d) check({ ...d.task, upid: opts.add, saved: '0' }, true);
  }
  ended.sort((a, b) => b.starttime - a.starttime);
  let save = opts.add !== undefined || opts.ended !== undefined;
  const now = Math.floor(Date.now() / 1000);
  for (const t of ended) {
    if (t.endtime) continue;
    t.endtime = now;
    t.status = readStatus(host, t.upid);
    save = true;
  }
  let archive = '';
  for (const t of ended) {
    if (t.saved === '1') continue;
    archive += `${t.upid} ${hex8(t.endtime!)} ${t.status}\n`;
    t.saved = '1';
    save = true;
  }
  if (archive) {
    const index = host.hostPath(INDEX);
    mkdirSync(dirname(index), { recursive: true });
    appendFileSync(index, archive);
    if (statSync(index).size > 50000) renameSync(index, `${index}.1`);
  }
  const keep = [...running, ...ended.slice(0, Math.max(0, 25 - running.length))];
  if (save) writeFileAtomic(path, formatActive(keep));
}

/**
 * pvestatd runs active_workers every 10 s (PVE/Service/pvestatd.pm update_status). Without a daemon,
 * a reader runs the sweep itself when a pvestatd cycle boundary (10 s × speed) has passed since the
 * last sweep; at speed 0 every read sweeps. [GUESS] the archived endtime is the read time, not the
 * cycle's.
 */
export function pvestatdSweep(host: SimHost, speed: number): void {
  const period = LATENCY_S.pvestatdPeriod * 1000 * speed;
  const statePath = host.simPath('pvestatd.json');
  const now = Date.now();
  if (period > 0) {
    const lastTick = Math.floor(now / period) * period;
    const state = readJson<{ tasksSweptAt?: number }>(statePath, {});
    const sweptAt = state.tasksSweptAt;
    if (sweptAt !== undefined && sweptAt >= lastTick) return;
    writeJson(statePath, { ...state, tasksSweptAt: now });
    // First read on this host: pvestatd's last cycle is unknown, take it as just done.
    if (sweptAt === undefined) return;
  }
  activeWorkers(host);
}

/** A worker task this process runs (fork_worker in CLI mode: synchronous). */
export class RunningTask {
  private constructor(
    private readonly host: SimHost,
    readonly upid: string,
    private readonly log: string,
  ) {}

  /** Creates the task log and registers the task as running (fork_worker's parent side). */
  static start(host: SimHost, spec: TaskSpec): RunningTask {
    const fields: TaskFields = {
      node: host.node,
      pid: process.pid,
      pstart: ownPstart(),
      starttime: Math.floor(Date.now() / 1000),
      ...spec,
    };
    const upid = encodeUpid(fields);
    const log = host.hostPath(decodeUpid(upid)!.log);
    mkdirSync(dirname(log), { recursive: true });
    appendFileSync(log, '');
    activeWorkers(host, { add: upid });
    return new RunningTask(host, upid, log);
  }

  /** The worker's output, teed into the task log. */
  write(text: string): void {
    appendFileSync(this.log, text);
  }

  /** The control message (`TASK OK` / `TASK ERROR: msg` / `TASK WARNINGS: n`), then the archive. */
  finish(error: string | undefined, warnings: number): void {
    if (error !== undefined) this.write(`\nTASK ERROR: ${error}\n`);
    else if (warnings > 0) this.write(`\nTASK WARNINGS: ${warnings}\n`);
    else this.write('TASK OK\n');
    activeWorkers(this.host, { ended: this.upid });
  }
}

// ---------------------------------------------------------------------------------------------
// GET /nodes/{node}/tasks (pve-manager PVE/API2/Tasks.pm node_tasks)

/** PVE::UPID::normalize_status_type. */
function statusType(status: string | undefined): string {
  if (!status) return 'unknown';
  if (status === 'OK') return 'ok';
  if (/^WARNINGS: \d+$/.test(status)) return 'warning';
  if (status === 'unexpected status') return 'unknown';
  return 'error';
}

const listParam = (p: Params, k: string): string | undefined => {
  const v = p[k];
  return Array.isArray(v) ? v.join(',') : v;
};

export function nodeTasks(host: SimHost, p: Params): Array<Record<string, unknown>> {
  const res: Array<Record<string, unknown>> = [];
  const start = Number(listParam(p, 'start') ?? 0);
  let limit = Number(listParam(p, 'limit') ?? 50);
  const userfilter = listParam(p, 'userfilter');
  const typefilter = listParam(p, 'typefilter');
  const vmid = listParam(p, 'vmid');
  const errors = listParam(p, 'errors') === '1';
  const source = listParam(p, 'source') ?? 'archive';
  const since = listParam(p, 'since');
  const until = listParam(p, 'until');
  const statusfilter = listParam(p, 'statusfilter');
  let wanted: Record<string, boolean> = { ok: true, warning: true, error: true, unknown: true };
  if (statusfilter !== undefined && !errors) {
    wanted = { ok: false, warning: false, error: false, unknown: false };
    for (const f of statusfilter.split(/[;,\s\0]+/).filter(Boolean)) wanted[f.toLowerCase()] = true;
  } else if (errors) wanted.ok = false;
  let count = 0;
  const escaped = userfilter?.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Returns true when the task is filtered out (the CLI runs as root@pam, an auditor of every task).
  const filtered = (t: Record<string, unknown>): boolean => {
    if (escaped && !new RegExp(escaped, 'i').test(String(t.user))) return true;
    if (typefilter && t.type !== typefilter) return true;
    if (vmid && (!t.id || t.id !== vmid)) return true;
    if (since !== undefined && Number(t.starttime) < Number(since)) return true;
    if (until !== undefined && Number(t.starttime) > Number(until)) return true;
    if (!wanted[statusType(t.status as string | undefined)]) return true;
    if (count++ < start) return true;
    if (limit <= 0) return true;
    return false;
  };
  if (source === 'active' || source === 'all') {
    for (const t of parseActive(readText(host.hostPath(ACTIVE)) ?? '')) {
      if (t.saved === '1') continue; // archived task, already in index(.1)
      const task: Record<string, unknown> = { ...t };
      if (!filtered(task)) {
        task.status ??= 'RUNNING';
        res.push(task);
        limit--;
      }
    }
  }
  if (source !== 'active') {
    for (const file of [INDEX, `${INDEX}.1`]) {
      const lines = (readText(host.hostPath(file)) ?? '').split('\n').reverse();
      for (const line of lines) {
        const m = /^(\S+)(\s([0-9A-Za-z]{8})(\s(\S.*))?)?$/.exec(line);
        const d = m && decodeUpid(m[1]!);
        if (!m || !d) continue;
        const task: Record<string, unknown> = { ...d.task, upid: m[1]! };
        if (m[3]) task.endtime = Number.parseInt(m[3], 16);
        if (m[5]) task.status = m[5];
        if (!filtered(task)) {
          res.push(task);
          limit--;
        }
      }
    }
  }
  return res;
}

/** GET /nodes/{node}/tasks/{upid}/status (read_task_status): running or stopped, by pid + pstart. */
export function taskStatus(host: SimHost, upid: string): Record<string, unknown> {
  const d = decodeUpid(upid);
  if (!d) throw new ParamError({ upid: 'unable to parse worker upid' });
  if (!existsSync(host.hostPath(d.log))) throw new ParamError({ upid: 'no such task' });
  // read_proc_starttime only (no zombie check, unlike check_process_running).
  const running = HAVE_PROC
    ? procStat(d.task.pid)?.starttime === d.task.pstart
    : processRunning(d.task.pid, d.task.pstart);
  const out: Record<string, unknown> = { ...d.task, upid, status: running ? 'running' : 'stopped' };
  if (!running) out.exitstatus = readStatus(host, upid);
  return out;
}
