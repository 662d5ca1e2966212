import { LoraFuseError } from '@lorafuse/core';

/** Output entries compared with float64 per run: enough to catch a wrong kernel, cheap next to the product itself. */
const SAMPLES = 64;

/**
 * Relative tolerance against `Σ_t |a[i,t]·b[t,j]|`: f32 accumulation over
 * K ≤ 2048 terms stays far inside it, while a wrong product (a transposed or
 * stale operand, a missing tile) misses by the order of the entry itself.
 */
const TOLERANCE = 1e-4;

/** Uniform values in [-1, 1) from a 32-bit LCG: the same inputs for every implementation of a run. */
export function randomMatrix(length: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/**
 * Checks `c` `[m, n]` against `a·b` computed in float64 on {@link SAMPLES}
 * entries spread over the matrix (corners included); throws
 * `BENCH_WRONG_RESULT` naming the implementation and the first bad entry.
 */
export function checkMatmulSample(impl: string, a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number): void {
  const fail = (why: string) =>
    new LoraFuseError('BENCH_WRONG_RESULT', `bench matmul: ${impl} gave a wrong ${m}×${k}×${n} product: ${why}; its timing is discarded.`, {
      details: { impl, m, k, n },
    });
  if (c.length !== m * n) throw fail(`${c.length} values instead of ${m * n}`);
  for (let s = 0; s < SAMPLES && m * n > 0; s++) {
    const index = s === SAMPLES - 1 ? m * n - 1 : Math.floor((s * m * n) / SAMPLES + s * 7919) % (m * n);
    const i = Math.floor(index / n);
    const j = index % n;
    let exact = 0;
    let magnitude = 0;
    for (let t = 0; t < k; t++) {
      const p = a[i * k + t] * b[t * n + j];
      exact += p;
      magnitude += Math.abs(p);
    }
    const got = c[index];
    if (!(Math.abs(got - exact) <= TOLERANCE * magnitude + 1e-30)) throw fail(`entry [${i}, ${j}] is ${got}, float64 gives ${exact}`);
  }
}
