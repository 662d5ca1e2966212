import { isLoraFuseError, LoraFuseError } from '@lorafuse/core';
import { adaptCommand } from './commands/adapt.js';
import { benchCommand } from './commands/bench.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { generateCommand } from './commands/generate.js';
import { infoCommand } from './commands/info.js';
import { mergeCommand } from './commands/merge.js';
import { pruneCommand } from './commands/prune.js';
import { trainCommand } from './commands/train.js';
import type { Command } from './commands/types.js';
import { jsonLine } from './format.js';
import { processIO, type CliIO } from './io.js';

const COMMANDS: readonly Command[] = [
  infoCommand,
  mergeCommand,
  pruneCommand,
  exportCommand,
  trainCommand,
  adaptCommand,
  evalCommand,
  generateCommand,
  benchCommand,
  demoCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: lorafuse <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options: --json, --verbose, --quiet, --backend auto|webgpu|wasm|reference, --seed n,',
    '  --plugin <module> (a file or package exporting plugins; repeat for several)',
    "Run `lorafuse <command> --help` for a command's options.",
    '',
  ].join('\n');
}

/**
 * Runs the command line `argv` (without the `node` and script words) and
 * returns the exit code: 0 on success, 1 for bad input or a failed
 * operation, 2 for a malformed command line, 70 for an internal error,
 * 130 when interrupted (SIGINT).
 * Errors are one line on stderr (plus `{"error":…}` on stdout with
 * `--json`); `--verbose` adds the stack.
 */
export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  const verbose = rest.includes('--verbose');
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.out(overview());
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
      throw new LoraFuseError('CLI_USAGE', `Unknown command "${name}". Commands: ${COMMANDS.map((c) => c.name).join(', ')}.`);
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(command.usage);
      return 0;
    }
    return await command.run(rest, io);
  } catch (error) {
    return reportError(error, io, { json, verbose });
  }
}

function reportError(error: unknown, io: CliIO, { json, verbose }: { json: boolean; verbose: boolean }): number {
  const typed = isLoraFuseError(error);
  const code = typed ? error.code : 'INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n')[0];
  io.err(typed ? `lorafuse: ${firstLine} [${code}]\n` : `lorafuse: internal error: ${firstLine} (run again with --verbose for details)\n`);
  if (verbose && error instanceof Error && error.stack) io.err(error.stack + '\n');
  if (json) io.out(jsonLine({ error: { code, message } }));
  if (!typed) return 70;
  // 130: the shell's status for a command stopped by SIGINT, the only thing that aborts a command.
  if (code === 'ABORTED') return 130;
  return code === 'CLI_USAGE' || code === 'UNKNOWN_OPTION' ? 2 : 1;
}
