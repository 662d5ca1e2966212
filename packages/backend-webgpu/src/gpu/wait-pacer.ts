/** Share of the expected device time spent asleep before asking; above ~0.9 the estimate feeds on its own sleep. */
const SLEEP_SHARE = 0.5;
/** Sleeps shorter than this are not worth a timer. */
const MIN_SLEEP_MS = 1;
/** Weight of a longer measurement in the running estimate. */
const LEARNING_RATE = 0.2;
/** Kinds of work remembered; past it the memory starts over (a steady loop has a handful). */
const MAX_REMEMBERED = 256;

/** True under Node, where WebGPU comes from Dawn's Node binding. */
export const runningOnNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * Paces the host's waits for the device. Dawn's Node binding settles
 * `mapAsync` and `onSubmittedWorkDone` by polling on every turn of the event
 * loop for as long as a request is pending; on a CPU adapter (lavapipe) that
 * loop takes a core from the threads that run the shaders, and a training
 * step ran about 20 % slower for it. The pacer remembers how long each kind
 * of work took (identified by the signature of its dispatches: kernels and
 * grid sizes) and, when the same work comes again, lets the event loop sleep
 * on a timer for half of that before the request is made. Work it has not
 * seen is waited for at once. Browsers wait without polling, so there it
 * only measures.
 */
export class WaitPacer {
  readonly #sleeps: boolean;
  readonly #expected = new Map<string, number>();

  constructor(sleeps: boolean) {
    this.#sleeps = sleeps;
  }

  /** Waits with `request` for the work of `signature` just submitted, and learns from how long it took. */
  async wait<T>(signature: string, request: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const expected = this.#expected.get(signature);
    const pause = (expected ?? 0) * SLEEP_SHARE;
    if (this.#sleeps && pause >= MIN_SLEEP_MS) await new Promise((resolve) => setTimeout(resolve, pause));
    const result = await request();
    const measured = performance.now() - started;
    if (expected === undefined && this.#expected.size >= MAX_REMEMBERED) this.#expected.clear();
    // Down at once (an oversleep measures about half the estimate, so a stale one halves per wait), up gradually.
    this.#expected.set(signature, expected === undefined || measured < expected ? measured : expected + LEARNING_RATE * (measured - expected));
    return result;
  }
}
