import { isLoraFuseError, type Backend, type BackendAttempt, type BackendSelection, type Runtime } from '@lorafuse/core';
import type { ParsedCommand } from './args.js';
import type { CliIO } from './io.js';

/**
 * Makes the command's `--backend` (default `auto`) the active backend of
 * `runtime`. For `auto` it tells the user on stderr, never stdout (so
 * `--json` output stays clean), which backend it picked: one line, left out
 * with `--quiet`, and, when that is the float64 reference backend, a warning
 * with what it tried and why each failed, printed even with `--quiet`. A backend whose
 * package is not installed throws `BACKEND_NOT_INSTALLED` with the
 * `npm install` line.
 */
export async function useCliBackend(runtime: Runtime, values: ParsedCommand['values'], io: CliIO): Promise<Backend> {
  const name = typeof values.backend === 'string' ? values.backend : 'auto';
  const { backend, attempts } = await selectCliBackend(runtime, name);
  if (name !== 'auto') return backend;
  if (!values.quiet) io.err(`backend: ${backend.description}\n`);
  if (backend.name === 'reference') io.err(referenceWarning(attempts));
  return backend;
}

/** `runtime.selectBackend(name)`, except that a backend whose package is not installed throws `BACKEND_NOT_INSTALLED`. */
export async function selectCliBackend(runtime: Runtime, name: string): Promise<BackendSelection> {
  try {
    return await runtime.selectBackend(name);
  } catch (error) {
    // The registry reports the stand-in of a package that is not installed as
    // a failed initialisation; the stand-in's own error says what to install.
    if (isLoraFuseError(error, 'BACKEND_INIT_FAILED') && isLoraFuseError(error.cause, 'BACKEND_NOT_INSTALLED')) throw error.cause;
    throw error;
  }
}

/** The warning for `auto` ending on the reference backend: each backend tried, why it was not used, and the way out. */
function referenceWarning(attempts: readonly BackendAttempt[]): string {
  return [
    'lorafuse: warning: --backend auto fell back to the float64 reference backend, which is many times slower. Tried:',
    ...attempts.map((a) => `  ${a.name} ${a.outcome}: ${a.reason}`),
    '  Fix one of these to run faster, or pass --backend reference to use the reference backend on purpose.',
    '',
  ].join('\n');
}
