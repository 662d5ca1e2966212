import { philoxUniform, rngStreamId } from '../reference/philox.js';

const SHUFFLE_STREAM = rngStreamId('train.shuffle');

/**
 * The order of `n` examples in `epoch`: a Fisher–Yates shuffle drawing from
 * the Philox stream of `seed`, so the same seed gives the same order on
 * every machine and a resumed run can recompute any epoch's order.
 */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(philoxUniform(seed, SHUFFLE_STREAM, epoch * n + i) * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
