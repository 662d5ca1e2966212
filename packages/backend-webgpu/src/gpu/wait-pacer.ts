/** Share of the expected device time spent asleep before asking; above ~0.9 the estimate feeds on its own sleep. */
const SLEEP_SHARE = 0.5;
/** Sleeps shorter than this are not worth a timer. */
const MIN_SLEEP_MS = 1;
/** Weight of the newest measurement in the running estimate. */
const LEARNING_RATE = 0.2;

/** True under Node, where WebGPU comes from Dawn's Node binding. */
export const runningOnNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * Paces the host's waits for the device. Dawn's Node binding settles
 * `mapAsync` and `onSubmittedWorkDone` by polling on every turn of the event
 * loop for as long as a request is pending; on a CPU adapter (lavapipe) that
 * loop takes a core from the threads that run the shaders, and a training
 * step ran about 20 % slower for it. The pacer learns how long the device
 * takes per dispatch and lets the event loop sleep on a timer for half of the
 * expected time before the request is made. Browsers wait without polling,
 * so there the pacer only measures.
 */
export class WaitPacer {
  readonly #sleeps: boolean;
  #msPerDispatch: number | undefined;

  constructor(sleeps: boolean) {
    this.#sleeps = sleeps;
  }

  /** Waits with `request` for work of `dispatches` dispatches just submitted, and learns from how long it took. */
  async wait<T>(dispatches: number, request: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const pause = dispatches * (this.#msPerDispatch ?? 0) * SLEEP_SHARE;
    if (this.#sleeps && pause >= MIN_SLEEP_MS) await new Promise((resolve) => setTimeout(resolve, pause));
    const result = await request();
    if (dispatches > 0) {
      const measured = (performance.now() - started) / dispatches;
      this.#msPerDispatch = this.#msPerDispatch === undefined ? measured : this.#msPerDispatch + LEARNING_RATE * (measured - this.#msPerDispatch);
    }
    return result;
  }
}
