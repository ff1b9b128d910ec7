// Terminal display with listr2: one line per planned step, the Proxmox command's latest output
// line under the running ones, and an ETA from earlier runs. It consumes the same events as the
// plain and JSON renderers; the runner does not know it exists.
import { Listr } from 'listr2';
import type { BuildEvent, PlanStep } from '../events.js';

interface TaskLike {
  title: string | undefined;
  output: string | undefined;
  skip(message?: string): void;
}

interface Entry {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
  task?: TaskLike;
  title: string;
  output?: string;
  skip?: string;
  startedAt?: number;
  eta?: number;
}

const secs = (ms: number) => `${Math.round(ms / 1000)}s`;

export interface ListrDisplay {
  emit(e: BuildEvent): void;
  /** Settles every step not reported yet and waits for the display to finish drawing. */
  finish(): Promise<void>;
}

function entry(title: string): Entry {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject, title };
}

export function listrDisplay(steps: PlanStep[]): ListrDisplay {
  const entries = new Map(steps.map((s) => [s.target, entry(`${s.target} (waiting)`)]));
  const show = (e: Entry) => {
    if (!e.task) return;
    e.task.title = e.title;
    if (e.output !== undefined) e.task.output = e.output;
  };
  const timer = setInterval(() => {
    for (const [id, e] of entries) {
      if (e.startedAt === undefined) continue;
      const elapsed = Date.now() - e.startedAt;
      e.title = `${id} ${e.eta ? `${secs(elapsed)} / ~${secs(e.eta)}` : secs(elapsed)}`;
      show(e);
    }
  }, 1000);
  timer.unref();
  const listr = new Listr(
    steps.map((s) => ({
      title: `${s.target} (waiting)`,
      task: async (_ctx: unknown, task: TaskLike) => {
        const e = entries.get(s.target)!;
        e.task = task;
        show(e);
        await e.promise;
        if (e.skip) task.skip(e.skip);
        else show(e);
      },
    })),
    {
      concurrent: true,
      exitOnError: false,
      // biome-ignore lint/suspicious/noExplicitAny: renderer options depend on the renderer chosen at run time.
      rendererOptions: { collapseErrors: false, outputBar: 1, persistentOutput: false } as any,
    },
  );
  const done = listr.run().catch(() => undefined);
  const settle = (id: string, f: (e: Entry) => void) => {
    const e = entries.get(id);
    if (!e) return;
    e.startedAt = undefined;
    f(e);
    entries.delete(id);
  };
  return {
    emit(ev) {
      switch (ev.type) {
        case 'start': {
          const e = entries.get(ev.target);
          if (!e) break;
          e.startedAt = Date.now();
          if (ev.etaMs !== undefined) e.eta = ev.etaMs;
          e.title = `${ev.target} [${ev.action}]`;
          e.output = ev.step;
          show(e);
          break;
        }
        case 'output':
        case 'retry': {
          const e = entries.get(ev.target);
          if (!e) break;
          e.output = ev.type === 'output' ? ev.line : `retrying in ${secs(ev.delayMs)}: ${ev.error}`;
          show(e);
          break;
        }
        case 'done':
          settle(ev.target, (e) => {
            e.title = `${ev.target} ${secs(ev.ms)}`;
            e.resolve();
          });
          break;
        case 'fresh':
        case 'blocked':
          settle(ev.target, (e) => {
            e.skip = ev.type === 'fresh' ? `${ev.target}: fresh` : `${ev.target}: blocked by ${ev.because}`;
            e.resolve();
          });
          break;
        case 'fail':
          settle(ev.target, (e) => e.reject(new Error(`${ev.target}: ${ev.error}`)));
          break;
        default:
          break;
      }
    },
    async finish() {
      clearInterval(timer);
      for (const [id, e] of entries) {
        e.skip = `${id}: not started`;
        e.resolve();
      }
      entries.clear();
      await done;
    },
  };
}
