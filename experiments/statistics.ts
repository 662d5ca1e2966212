import { SeededRandom } from '../packages/demo/src/random.js';

/** Arithmetic mean (NaN for no values). */
export function mean(values: readonly number[]): number {
  return values.reduce((s, x) => s + x, 0) / values.length;
}

/** Sample standard deviation (n − 1 in the denominator; 0 for a single value). */
export function std(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, x) => s + (x - m) ** 2, 0) / (values.length - 1));
}

/** What {@link pairedBootstrap} found. */
export interface BootstrapResult {
  /** Mean of `a − b` over the items. */
  readonly difference: number;
  /** Share of resamples whose mean `a − b` is ≤ 0: the one-sided p-value of "a beats b". */
  readonly p: number;
  readonly resamples: number;
}

/**
 * Paired bootstrap over items (Koehn, 2004): resamples the item indices with
 * replacement `resamples` times from a seeded stream and counts how often
 * system `a` fails to score above system `b` on the resample's mean.
 */
export function pairedBootstrap(a: readonly number[], b: readonly number[], resamples: number, seed: number): BootstrapResult {
  if (a.length !== b.length || a.length === 0)
    throw new RangeError(`paired bootstrap needs equally many items (at least one); got ${a.length} and ${b.length}`);
  const d = a.map((x, i) => x - b[i]);
  const random = new SeededRandom(seed, 'experiment/bootstrap');
  let failures = 0;
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < d.length; i++) sum += d[random.int(0, d.length - 1)];
    if (sum <= 0) failures++;
  }
  return { difference: mean(d), p: failures / resamples, resamples };
}
