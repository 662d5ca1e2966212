import type { CliIO } from '../src/io.js';
import { runCli } from '../src/main.js';

/** A {@link CliIO} that keeps what a command prints, in `text`. */
export function captureIO(isTTY = false): { io: CliIO; text: { out: string; err: string } } {
  const text = { out: '', err: '' };
  const io: CliIO = {
    out: (t) => {
      text.out += t;
    },
    err: (t) => {
      text.err += t;
    },
    isTTY,
  };
  return { io, text };
}

/** Runs the CLI in-process and captures what it prints. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io, text } = captureIO();
  const code = await runCli(argv, io);
  return { code, ...text };
}
