import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { LoraFuseError } from '@lorafuse/core';

/** A folder named on the command line, with its flag. */
export interface FlagPath {
  readonly flag: string;
  readonly path: string;
}

/** `path` absolute with symbolic links resolved, also for a path that does not exist yet (through its nearest existing parent). */
function canonical(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(canonical(parent), basename(absolute));
  }
}

/** True when `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Refuses, before anything is read or written, an output folder that is an
 * input folder or lies inside one (writing it would replace or mix with the
 * input's files): throws `OUTPUT_OVERLAPS_INPUT` naming both flags.
 */
export function checkOutputsApart(outputs: readonly FlagPath[], inputs: readonly FlagPath[]): void {
  for (const output of outputs) {
    const out = canonical(output.path);
    for (const input of inputs) {
      if (!within(out, canonical(input.path))) continue;
      const how = within(canonical(input.path), out) ? 'is' : 'lies inside';
      throw new LoraFuseError(
        'OUTPUT_OVERLAPS_INPUT',
        `${output.flag} ${output.path} ${how} the ${input.flag} folder ${input.path}; writing there would overwrite the input. Choose a folder outside the inputs.`,
        { details: { output: output.flag, path: output.path, input: input.flag, inputPath: input.path } },
      );
    }
  }
}
