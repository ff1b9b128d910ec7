// The thin terminal edge of the live display: redraws the frame `renderLive` computes in place
// (cursor up, clear), on events and a timer, at the terminal's current size. It installs no signal
// handlers: Ctrl-C belongs to the build command.
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

export function ttyDisplay(out: NodeJS.WriteStream, steps: LiveStep[], jobs: number): TtyDisplay {
  const state: LiveState = liveState(steps, jobs);
  let drawn = 0;
  let stopped = false;
  const clear = () => {
    if (drawn) out.write(`\r\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    if (stopped) return;
    const lines = renderLive(state, { rows: out.rows || 24, cols: out.columns || 80 }, Date.now());
    const painted = lines.map((l) => {
      const c = COLOR[l[0] ?? ''];
      return c ? `\x1b[${c}m${l[0]}\x1b[0m${l.slice(1)}` : l;
    });
    const up = drawn ? `\r\x1b[${drawn}A` : '';
    out.write(`${up}${painted.map((l) => `${l}\x1b[K\n`).join('')}\x1b[J`);
    drawn = lines.length;
  };
  const timer = setInterval(draw, 200);
  timer.unref();
  const onResize = () => draw();
  out.on('resize', onResize);
  // Whatever ends the process (an abort, a crash), the cursor comes back.
  const showCursor = () => out.write('\x1b[?25h');
  process.on('exit', showCursor);
  out.write('\x1b[?25l');
  draw();
  return {
    emit(e) {
      applyEvent(state, e, Date.now());
      draw();
    },
    note(line) {
      clear();
      out.write(`${line}\n`);
      draw();
    },
    stop() {
      if (stopped) return;
      clearInterval(timer);
      out.off('resize', onResize);
      clear();
      stopped = true;
      process.off('exit', showCursor);
      showCursor();
    },
  };
}
