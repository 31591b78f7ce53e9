// The progress line on a terminal's stderr: "[3/12] scenarios/nodeport.svcspec". It appears only
// when the run has lasted ~300 ms (short runs stay clean) and only on a TTY — never in pipes or
// CI logs. Console output goes through `wrap`, which lifts the line before writing and puts it
// back after, so the two never interleave on the same terminal.

import type { TextSink } from "./console.js";

export interface ProgressStream extends TextSink {
  isTTY?: boolean;
  columns?: number;
}

export interface Progress {
  fileStarted(file: string): void;
  fileDone(): void;
  /** A sink that clears the progress line around every write to `out`. */
  wrap(out: TextSink): TextSink;
  stop(): void;
}

export const PROGRESS_DELAY_MS = 300;

const ERASE_LINE = "\r\x1b[2K";

export function createProgress(stream: ProgressStream, total: number, delayMs = PROGRESS_DELAY_MS): Progress {
  if (!stream.isTTY) {
    return { fileStarted() {}, fileDone() {}, wrap: (out) => out, stop() {} };
  }
  let done = 0;
  let current = "";
  let visible = false;
  let shown = false;
  let stopped = false;

  const started = Date.now();
  const render = () => {
    // The executor mostly computes without yielding, so the timer alone may not fire in time:
    // every event also checks the clock.
    if (!shown && Date.now() - started >= delayMs) shown = true;
    if (!shown || stopped) return;
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    let line = `[${done}/${total}] ${current}`;
    if (line.length > width) line = line.slice(0, width - 1) + "…";
    stream.write(ERASE_LINE + line);
    visible = true;
  };
  const clear = () => {
    if (visible) stream.write(ERASE_LINE);
    visible = false;
  };
  const timer = setTimeout(() => {
    shown = true;
    render();
  }, delayMs);
  timer.unref?.();

  return {
    fileStarted(file) {
      current = file;
      render();
    },
    fileDone() {
      done++;
      render();
    },
    wrap(out) {
      return {
        write(text: string) {
          clear();
          out.write(text);
          render();
          return true;
        },
      };
    },
    stop() {
      clearTimeout(timer);
      clear();
      stopped = true;
    },
  };
}
