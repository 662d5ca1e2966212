import type { CliIO } from '../io.js';

/** One `lorafuse` subcommand. */
export interface Command {
  /** The word after `lorafuse`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full usage text for `--help`. */
  readonly usage: string;
  /** Runs the command; returns the exit code. Throws LoraFuseError on bad input. */
  run(argv: string[], io: CliIO): Promise<number>;
}
