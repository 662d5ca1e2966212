import type { CliIO } from './io.js';

/** A progress display for long work on stderr. */
export interface Progress {
  /** Reports `done` of `total` for the task named `label` (a new label starts a new line). */
  update(label: string, done: number, total: number, note?: string): void;
  /** Ends the current line. */
  end(): void;
}

const WIDTH = 24;

/**
 * A progress bar redrawn in place (`\r`) when stderr is a terminal; otherwise
 * one line per finished task, so logs stay readable. Silent when `quiet`.
 * `show` writes the counts (plain numbers by default, sizes for bytes).
 */
export function progressBar(io: CliIO, quiet: boolean, show: (n: number) => string = String): Progress {
  let current: string | undefined;
  let open = false;
  const started = new Map<string, number>();
  const seconds = (label: string) => ((performance.now() - (started.get(label) ?? performance.now())) / 1000).toFixed(1);
  return {
    update(label, done, total, note) {
      if (quiet) return;
      if (label !== current) {
        if (open) io.err('\n');
        open = false;
        current = label;
        started.set(label, performance.now());
      }
      const finished = done >= total;
      if (io.isTTY) {
        const filled = total > 0 ? Math.round((Math.min(done, total) / total) * WIDTH) : WIDTH;
        io.err(
          `\r${label.padEnd(26)} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${show(done)}/${show(total)} ${seconds(label)}s${note ? `  ${note}` : ''}\x1b[K`,
        );
        open = true;
      } else if (finished) io.err(`${label}: ${show(done)}/${show(total)} in ${seconds(label)}s${note ? `  ${note}` : ''}\n`);
    },
    end() {
      if (open) io.err('\n');
      open = false;
      current = undefined;
    },
  };
}
