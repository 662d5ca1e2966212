import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LoraFuseError } from '@lorafuse/core';

/** Options every command accepts. */
const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  backend: { type: 'string' },
  seed: { type: 'string' },
  plugin: { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options'];

/** A parsed command line: option values by name, and the positional words. */
export interface ParsedCommand {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/**
 * Parses `argv` strictly against the global options plus `options`: an
 * unknown flag is an error that names it, never silently ignored.
 */
export function parseCommand(command: string, argv: string[], options: NonNullable<ParseArgsConfig['options']>): ParsedCommand {
  try {
    return parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (cause) {
    const message = (cause as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    const unknown = (cause as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    throw new LoraFuseError(unknown ? 'UNKNOWN_OPTION' : 'CLI_USAGE', `${command}: ${message} See \`lorafuse ${command} --help\`.`, { cause });
  }
}
