/** The part of `process` {@link exitWhenFlushed} uses. */
export interface ExitTarget {
  readonly stdout: { write(text: string, done: () => void): unknown };
  readonly stderr: { write(text: string, done: () => void): unknown };
  exit(code: number): never;
}

/**
 * Ends the process with `code` once everything written to stdout and
 * stderr has been handed on. A finished command exits at once, whatever a
 * dependency leaves behind: a timer, a worker or a device that would keep
 * the event loop alive (jax-js's wasm device does, under Deno).
 */
export async function exitWhenFlushed(code: number, target: ExitTarget = process): Promise<never> {
  // An empty write's callback runs after every earlier write of that stream.
  await Promise.all([target.stdout, target.stderr].map((stream) => new Promise<void>((done) => stream.write('', done))));
  return target.exit(code);
}
