import { isLoraFuseError } from '@lorafuse/core';

function codeOfError(e: unknown): string {
  return isLoraFuseError(e) ? e.code : `not a LoraFuseError: ${String(e)}`;
}

/** The code of the LoraFuseError `fn` throws, a marker for any other error, or undefined when it does not throw. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return codeOfError(e);
  }
  return undefined;
}

/** {@link codeOf} for functions that may return a promise. */
export async function asyncCodeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    return codeOfError(e);
  }
  return undefined;
}
