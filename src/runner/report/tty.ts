// The thin terminal edge of the live display. The frame is `renderLive`'s (pure, tested); listr2's
// DefaultRenderer draws it (the project's chosen progress library): one task whose title is the
// header line and whose output is the rest of the frame, so listr2's log-update does the in-place
// redraw and its process-output hijack keeps stray writes from tearing the frame (they print,
// in order, when the display stops). listr2 is told to draw nothing of its own: no icons, no
// indentation, no spinner timer (`lazy`; our 200 ms tick sets title/output), and no signal
// handlers (its SIGINT handler exits 127: Ctrl-C belongs to the build command).
// Two things listr2 9 has no public call for: printing a line above a live frame, and removing
// the frame at once. For both this module reaches the renderer's log-update (`updater.clear()`),
// checked at run time; without it a note waits in the hijack buffer and prints at stop.
import { Listr, ListrEventType, ListrLogger, type ListrTaskWrapper, ProcessOutput } from 'listr2';
import type { BuildEvent } from '../events.js';
import { applyEvent, type LiveState, type LiveStep, liveState, renderLive } from './live.js';

export interface TtyDisplay {
  emit(e: BuildEvent): void;
  /** Prints a line above the live frame (notes, the Ctrl-C message). */
  note(line: string): void;
  /** Clears the frame; what follows (the summary) prints as plain lines. */
  stop(): void;
}

const COLOR: Record<string, string> = { '✔': '32', '✖': '31', '↷': '33', '◼': '33' };

/**
 * listr2 hands log-update a copy of the stream taken once (its `stdout` getter), so the frame
 * would keep the start-up size; this one answers with the terminal's size now, and releases once.
 */
class LiveSizeOutput extends ProcessOutput {
  constructor(private readonly out: NodeJS.WriteStream) {
    super(out, process.stderr, { leaveEmptyLine: false });
  }
  override get stdout(): NodeJS.WriteStream {
    const out = this.out;
    const write = (s: string) => this.stream.stdout.write(s);
    return {
      write,
      get rows() {
        return out.rows;
      },
      get columns() {
        return out.columns;
      },
    } as unknown as NodeJS.WriteStream;
  }
  override release(): void {
    if (this.active) super.release();
  }
}

/** The part of listr2's DefaultRenderer this module needs beyond its public API (see above). */
interface Drawn {
  updater?: { clear(): void };
  update(): void;
}

const NO_ICON = { WAITING: '', PENDING: '', COMPLETED: '', OUTPUT: '', OUTPUT_WITH_BOTTOMBAR: '' };

export function ttyDisplay(out: NodeJS.WriteStream, steps: LiveStep[], jobs: number): TtyDisplay {
  const state: LiveState = liveState(steps, jobs);
  const processOutput = new LiveSizeOutput(out);
  let task: ListrTaskWrapper<unknown, never, never> | undefined;
  let finish: () => void = () => undefined;
  let stopped = false;

  const listr = new Listr(
    {
      title: renderLive(state, { rows: 2, cols: 1000 }, Date.now())[0] ?? 'phoenix build',
      task: (_ctx, t) => {
        task = t as unknown as ListrTaskWrapper<unknown, never, never>;
        draw();
        return stopped ? undefined : new Promise<void>((resolve) => (finish = resolve));
      },
      rendererOptions: { outputBar: 1, persistentOutput: false },
    },
    {
      renderer: 'default',
      fallbackRenderer: 'silent',
      registerSignalListeners: false,
      exitOnError: false,
      rendererOptions: {
        lazy: true,
        indentation: 0,
        formatOutput: 'truncate',
        removeEmptyLines: false,
        clearOutput: true,
        showSubtasks: false,
        icon: NO_ICON,
        logger: new ListrLogger({ useIcons: false, processOutput }),
      },
    },
  );
  const renderer = () => (listr as unknown as { renderer?: Drawn }).renderer;

  let shown = { title: '', output: '' };
  const draw = () => {
    if (stopped || !task) return;
    // listr2 truncates at columns - 2 (its margin); clipping there first keeps renderLive's `…`.
    const cols = Math.max(1, (out.columns || 80) - 2);
    const [title = '', ...rest] = renderLive(state, { rows: out.rows || 24, cols }, Date.now());
    const output = rest
      .map((l) => {
        const c = COLOR[l[0] ?? ''];
        return c ? `\x1b[${c}m${l[0]}\x1b[0m${l.slice(1)}` : l;
      })
      .join('\n');
    // Each assignment redraws; an unchanged part is left alone.
    if (title !== shown.title) task.title = title;
    if (output !== shown.output) task.output = output;
    shown = { title, output };
  };
  const timer = setInterval(draw, 200);
  timer.unref();
  const onResize = () => {
    shown = { title: '', output: '' };
    draw();
  };
  out.on('resize', onResize);
  // Whatever ends the process (an abort, a crash), the cursor comes back.
  const showCursor = () => out.write('\x1b[?25h');
  process.on('exit', showCursor);
  listr.run().catch(() => undefined);

  return {
    emit(e) {
      applyEvent(state, e, Date.now());
      draw();
    },
    note(line) {
      const r = renderer();
      if (!r?.updater || stopped) {
        out.write(`${line}\n`);
        return;
      }
      r.updater.clear();
      processOutput.toStdout(line);
      r.update();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      out.off('resize', onResize);
      // The task's end would redraw it once more; the summary must not land under that frame.
      listr.events.off(ListrEventType.SHOULD_REFRESH_RENDER);
      renderer()?.updater?.clear();
      processOutput.release();
      finish();
      process.off('exit', showCursor);
      showCursor();
    },
  };
}
