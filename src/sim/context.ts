// What every simulated command gets: the host, its storages, output sinks, fault injection,
// and Proxmox's task semantics (worker output on stdout, failure as one stderr line, exit codes).
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SimEnv } from './env.js';
import { PveDie, SimCrash } from './errors.js';
import { decideFault, type FaultSpec } from './faults.js';
import { SimHost } from './host.js';
import { type Out, sleepMs } from './io.js';
import { type LatencyOp, simulate } from './latency.js';
import { Storage } from './storage.js';
import { RunningTask, type TaskSpec } from './tasks.js';

export class Ctx {
  readonly host: SimHost;
  readonly storage: Storage;
  exit = 0;
  warnings = 0;
  /** Set by the CLI layer so a crash can log itself before dying. */
  onCrash: (() => void) | undefined;
  /** The worker `task()` forks (`fork_worker($type, $id, $user)`), set by the CLI layer per command. */
  taskSpec: TaskSpec | undefined;
  /** The worker task running now, whose log gets the task output. */
  private running: RunningTask | undefined;

  constructor(
    readonly env: SimEnv,
    readonly io: Out,
    readonly cmd: string,
    readonly op: string,
    readonly faults: FaultSpec,
  ) {
    this.host = new SimHost(env, io);
    this.storage = new Storage(this.host);
  }

  /**
   * The same command seen from another node of the cluster: its configs, local storages and locks
   * (a proxied API call, a migration's target side). Output still goes to this command's sinks.
   */
  on(node: string): Ctx {
    if (node === this.host.node) return this;
    const other = new Ctx({ ...this.env, node }, this.io, this.cmd, this.op, this.faults);
    other.running = this.running;
    return other;
  }

  out(text: string): void {
    this.io.out(text);
    this.running?.write(text);
  }

  /** `log_warn` inside a task: `WARN: msg` in the task output, counted for the final summary. */
  warn(msg: string): void {
    this.warnings++;
    this.out(`WARN: ${msg}\n`);
  }

  sleep(op: LatencyOp, factor = 1): void {
    simulate(op, this.env.speed, factor);
  }

  /**
   * A point mid-task where an injected fault strikes: `fail` throws (the task's own error path
   * does Proxmox's clean-up), `crash` kills the process with SIGKILL, `delay` holds for a while.
   */
  faultPoint(vmids: number[], op = this.op): void {
    const rule = decideFault(this.env.root, this.io, this.faults, this.cmd, op, vmids);
    if (!rule) return;
    if (rule.mode === 'delay') {
      sleepMs(rule.delayS * 1000);
      return;
    }
    if (rule.mode === 'crash') {
      this.onCrash?.();
      process.kill(process.pid, 'SIGKILL');
      sleepMs(10_000);
      throw new SimCrash('killed');
    }
    throw new PveDie(rule.msg);
  }

  /**
   * Runs a worker task in CLI mode: synchronous, errors flattened to one stderr line; exit 255 on
   * failure only for commands with `$upid_exit`, else 0 (pct push/template/resize, qm template/resize).
   * While it runs the task is listed in var/log/pve/tasks/active under its UPID with this process's
   * pid; a crash (SIGKILL) leaves the entry behind with a dead pid, as a killed worker does.
   */
  task(upidExit: boolean, fn: () => void): void {
    const task = this.taskSpec && !this.running ? RunningTask.start(this.host, this.taskSpec) : undefined;
    if (task) this.running = task;
    let error: string | undefined;
    try {
      fn();
    } catch (e) {
      if (e instanceof SimCrash) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      error = msg.replace(/\s*\n\s*/g, ' ').trim();
    }
    if (task) {
      this.running = undefined;
      task.finish(error, this.warnings);
    }
    if (error !== undefined) {
      this.io.err(`${error}\n`);
      if (upidExit) this.exit = 255;
      return;
    }
    if (this.warnings > 0) this.io.err(`Task finished with ${this.warnings} warning(s)!\n`);
  }

  /** Appends a JSON line to a file in the state folder. */
  appendJsonl(path: string, record: unknown): void {
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, `${JSON.stringify(record)}\n`);
  }
}
