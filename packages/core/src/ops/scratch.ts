import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Kernels } from '../backend/kernels.js';
import type { Tape } from '../autograd/tape.js';
import type { Shape } from '../tensor/index.js';

/**
 * Runs `fn` with a `tmp` function that marks kernel results as temporaries:
 * they are freed when `fn` returns (gradient rules build their results
 * from several kernels and keep only the last).
 */
export function withScratch<R>(tape: Tape, fn: (tmp: (t: DeviceTensor) => DeviceTensor, k: Kernels) => R): R {
  const temps: DeviceTensor[] = [];
  try {
    return fn((t) => {
      temps.push(t);
      return t;
    }, tape.backend.kernels);
  } finally {
    for (const t of temps) tape.backend.free(t);
  }
}

/** `x` `[...lead, ...shape]` summed over its leading dimensions to `shape` (a fresh tensor; `x` is left alone). */
export function sumToShape(tape: Tape, x: DeviceTensor, shape: Shape): DeviceTensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return withScratch(tape, (tmp, k) => {
    if (x.size === n) return k.reshape(x, shape);
    const rows = n === 0 ? 0 : x.size / n;
    // Σ over rows as ones[1, rows] · x[rows, n]: one kernel every backend already makes fast.
    const summed = tmp(k.matmul(tape.ones([1, rows]), tmp(k.reshape(x, [rows, n]))));
    return k.reshape(summed, shape);
  });
}

/** Rows × last dimension: `x` viewed as a matrix (a fresh tensor). */
export function asMatrix(k: Kernels, x: DeviceTensor): DeviceTensor {
  const last = x.shape[x.shape.length - 1];
  return k.reshape(x, [last === 0 ? 0 : x.size / last, last]);
}
