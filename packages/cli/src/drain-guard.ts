/** The exit status of a command whose process was about to end before its work did: an internal failure (as `sysexits`' EX_SOFTWARE). */
export const DRAINED_EXIT_CODE = 70;

/** The part of `process` the guard uses. */
export interface DrainTarget {
  on(event: 'beforeExit', listener: () => void): unknown;
  off(event: 'beforeExit', listener: () => void): unknown;
  exit(code: number): never;
  readonly stderr: { write(text: string): unknown };
}

/**
 * Resolves with `work`'s exit status, and refuses a silent exit while it
 * is pending: when the event loop drains first (nothing left that keeps
 * the process alive, yet the command has not finished: a worker the
 * runtime does not count, an awaited promise nothing will settle), the
 * runtime emits `beforeExit`, and the process would otherwise end with
 * status 0, no result and no message. The guard says so on stderr and
 * exits with {@link DRAINED_EXIT_CODE} instead.
 */
export function guardDrain(work: Promise<number>, target: DrainTarget = process): Promise<number> {
  const drained = () => {
    target.stderr.write(
      'lorafuse: the process was about to exit before the command finished: nothing was left to keep it running while its work was still pending. ' +
        'No result was written. This is a bug in LoRAFuse or in the JavaScript runtime; please report it with the command line. [INTERNAL]\n',
    );
    target.exit(DRAINED_EXIT_CODE);
  };
  target.on('beforeExit', drained);
  return work.finally(() => target.off('beforeExit', drained));
}
