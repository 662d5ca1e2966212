/** Share of the expected device time spent asleep before asking. */
const SLEEP_SHARE = 0.85;
/** Sleeps shorter than this are not worth a timer; an answer within this long after a sleep means the work was done before it ended. */
const MIN_SLEEP_MS = 1;
/** Weight of a longer measurement in the running estimate. */
const LEARNING_RATE = 0.2;
/** Kinds of work remembered; past it the memory starts over (a steady loop has a handful). */
const MAX_REMEMBERED = 256;

/** True under Node, where WebGPU comes from Dawn's Node binding. */
export const runningOnNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** A wait in flight: `settled` once its request has; `woken` once a later wait has settled, which cuts its sleep short. */
interface Pending {
  readonly settled: Promise<void>;
  readonly woken: Promise<void>;
  settle(): void;
  wake(): void;
}

function pending(): Pending {
  let settle!: () => void;
  let wake!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const woken = new Promise<void>((resolve) => (wake = resolve));
  return { settled, woken, settle, wake };
}

/** Resolves after `ms` (at least one turn of the event loop), or as soon as `woken` does. */
function pauseUnless(ms: number, woken: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = ms >= MIN_SLEEP_MS ? setTimeout(resolve, ms) : undefined;
    // Node's setImmediate is one turn; a 0 ms timer there is a whole millisecond.
    if (timer === undefined) (globalThis.setImmediate ?? setTimeout)(resolve);
    void woken.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Paces the host's waits for the device. Dawn's Node binding settles
 * `mapAsync` and `onSubmittedWorkDone` by polling on every turn of the event
 * loop for as long as a request is pending; on a CPU adapter (lavapipe) that
 * loop takes a core from the threads that run the shaders, which then run
 * slower for as long as it polls. The pacer remembers how long each kind of
 * work took (identified by the signature of its dispatches: kernels and grid
 * sizes) and, when the same work comes again, lets the event loop sleep on a
 * timer for most of that before the request is made. Work it has not seen is
 * waited for at once.
 *
 * A sleep measures itself: when the answer comes at once after it, the work
 * finished earlier by an unknown amount, so the estimate shrinks
 * geometrically until a wait polls again; a longer measurement raises it
 * gradually.
 *
 * Waits overlap when a caller reads a value without awaiting it and goes on
 * queueing work (the trainer reads the loss that way). The queue runs in
 * order, so the latest wait's work finishing implies that of every earlier
 * one: an earlier wait that wakes while a later one is pending leaves the
 * polling to it, makes its own request once that has settled (the answer then
 * comes at the first poll) and learns nothing from it. Browsers wait without
 * polling, so there the pacer only measures.
 */
export class WaitPacer {
  readonly #sleeps: boolean;
  readonly #expected = new Map<string, number>();
  /** Waits in flight, oldest first. */
  readonly #pending: Pending[] = [];

  constructor(sleeps: boolean) {
    this.#sleeps = sleeps;
  }

  /** Waits with `request` for the work of `signature` just submitted, and learns from how long it took. */
  async wait<T>(signature: string, request: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const expected = this.#expected.get(signature);
    if (!this.#sleeps) {
      const result = await request();
      this.#learn(signature, expected, performance.now() - started, false);
      return result;
    }
    const mine = pending();
    this.#pending.push(mine);
    try {
      // Even unpaused, yield a turn: work queued right after this read may register its own wait meanwhile.
      await pauseUnless((expected ?? 0) * SLEEP_SHARE, mine.woken);
      const latest = this.#pending.at(-1)!;
      if (latest !== mine) {
        await latest.settled;
        return await request();
      }
      const asked = performance.now();
      const result = await request();
      const answered = performance.now();
      this.#learn(signature, expected, answered - started, expected !== undefined && answered - asked < MIN_SLEEP_MS);
      return result;
    } finally {
      mine.settle();
      const index = this.#pending.indexOf(mine);
      this.#pending.splice(index, 1);
      // Work queued before this one is done too.
      for (const earlier of this.#pending.slice(0, index)) earlier.wake();
    }
  }

  #learn(signature: string, expected: number | undefined, measured: number, overslept: boolean): void {
    if (expected === undefined && this.#expected.size >= MAX_REMEMBERED) this.#expected.clear();
    let next: number;
    if (expected === undefined) next = measured;
    // An oversleep measures the sleep itself: shrink below it so that the next wait finds out.
    else if (overslept) next = measured * SLEEP_SHARE;
    // Down at once, up gradually.
    else next = measured < expected ? measured : expected + LEARNING_RATE * (measured - expected);
    this.#expected.set(signature, next);
  }
}
