/** Completed steps the rate is taken over. */
const WINDOW = 2;

/**
 * Tokens per second of completed steps, over the last two of them: the
 * tokens of both divided by the time since the step before them completed.
 *
 * One step would not do: when the trainer runs a step ahead, a step's values
 * reach the host together with the next step's forward and backward passes
 * (a device reports its queue in order, and backends wait for the latest
 * request), so consecutive steps complete in pairs, one after most of two
 * steps' time and the next right after it. Over two steps each rate covers
 * the device time its tokens took; without running ahead it is the mean of
 * the last two steps.
 */
export class Throughput {
  /** Completion times (ms) and tokens of the last steps, oldest first. */
  readonly #recent: Array<{ readonly at: number; readonly tokens: number }> = [];
  /** When the window's first step started, until a step before it completes. */
  #since: number | undefined;

  /** Starts a new window at a step that began at `started` (ms): time before it (an evaluation, a resume) is not counted. */
  restart(started: number): void {
    this.#recent.length = 0;
    this.#since = started;
  }

  /** Records a step of `tokens` that began at `started` and completed at `at` (ms), and returns the rate in tokens per second. */
  complete(started: number, at: number, tokens: number): number {
    this.#since ??= started;
    this.#recent.push({ at, tokens });
    if (this.#recent.length > WINDOW) this.#since = this.#recent.shift()!.at;
    const total = this.#recent.reduce((n, s) => n + s.tokens, 0);
    // A microsecond at least: coarse clocks (browsers) can give two equal readings.
    return total / (Math.max(at - this.#since, 1e-3) / 1000);
  }
}
