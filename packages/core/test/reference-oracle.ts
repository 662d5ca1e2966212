// Helpers shared by the reference-backend tests: seeded inputs, float64
// comparisons and central finite differences. Nothing here calls the code
// under test except through the backend's public API.
import { ReferenceBackend, Tensor, type DeviceTensor, type Shape } from '@lorafuse/core';
export { codeOf } from './error-code.js';

/** A seeded generator for test inputs (an LCG is plenty here). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `n` f32-representable values uniform in `[lo, hi)`. */
export function randomValues(rand: () => number, n: number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from(Float32Array.from({ length: n }, () => lo + (hi - lo) * rand()));
}

/** Largest relative difference `|a − b| / max(1e-30, |b|)` over elements, NaN when shapes or NaN positions differ. */
export function maxRelDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return NaN;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i]) || Number.isNaN(actual[i])) {
      if (!(Number.isNaN(expected[i]) && Number.isNaN(actual[i]))) return NaN;
      continue;
    }
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1e-30, Math.abs(expected[i])));
  }
  return worst;
}

/** Relative L2 error of `actual` against `expected`. */
export function relL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < expected.length; i++) {
    d += (actual[i] - expected[i]) ** 2;
    n += expected[i] ** 2;
  }
  return Math.sqrt(d / n);
}

/** Central finite-difference gradient of `f` at `x` (float64). */
export function numericGradient(f: (x: Float64Array) => number, x: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  const probe = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    probe[i] = x[i] + h;
    const up = f(probe);
    probe[i] = x[i] - h;
    const down = f(probe);
    probe[i] = x[i];
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** `Σ w ⊙ y`: the scalar whose gradient is a backward kernel given `dy = w`. */
export function dot(w: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * y[i];
  return s;
}

/** A reference backend with shorthand for uploading float64 data as f32 and reading it back. */
export function referenceHarness() {
  const backend = new ReferenceBackend();
  return {
    backend,
    k: backend.kernels,
    f32: (shape: Shape, values: ArrayLike<number>): DeviceTensor => backend.upload(Tensor.f32(shape, values)),
    i32: (shape: Shape, values: ArrayLike<number>): DeviceTensor => backend.upload(new Tensor('i32', shape, Int32Array.from(values))),
    values: (t: DeviceTensor): Float64Array => Float64Array.from(backend.readSync(t).toFloat32()),
    read: (t: DeviceTensor): Tensor => backend.readSync(t),
  };
}

/** The LoraFuseError code `fn` throws (`untyped` for other errors, undefined when it succeeds). */

/** RMSNorm from the definition, rows of `dim` values scaled by `w`. */
export function naiveRmsNorm(x: ArrayLike<number>, w: ArrayLike<number>, dim: number, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let ms = 0;
    for (let d = 0; d < dim; d++) ms += x[r * dim + d] ** 2 / dim;
    for (let d = 0; d < dim; d++) out[r * dim + d] = (w[d] * x[r * dim + d]) / Math.sqrt(ms + eps);
  }
  return out;
}

/** Attention shapes: batch, query heads, KV heads, query and key lengths, head dim. */
export interface AttnShape {
  b: number;
  hq: number;
  kv: number;
  sq: number;
  sk: number;
  d: number;
}

/** Attention from the definition: full score matrix, explicit causal mask, query head h reading KV head ⌊h·KV/H⌋. */
export function naiveAttention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, s: AttnShape, scale: number, window = Infinity) {
  const out = new Float64Array(s.b * s.hq * s.sq * s.d);
  const lse = new Float64Array(s.b * s.hq * s.sq);
  for (let b = 0; b < s.b; b++)
    for (let h = 0; h < s.hq; h++) {
      const g = Math.floor((h * s.kv) / s.hq);
      for (let i = 0; i < s.sq; i++) {
        const weights: number[] = [];
        for (let j = 0; j < s.sk; j++) {
          if (j > i + (s.sk - s.sq) || j <= i + (s.sk - s.sq) - window) {
            weights.push(0);
            continue;
          }
          let score = 0;
          for (let e = 0; e < s.d; e++) score += q[((b * s.hq + h) * s.sq + i) * s.d + e] * k[((b * s.kv + g) * s.sk + j) * s.d + e];
          weights.push(Math.exp(scale * score));
        }
        const total = weights.reduce((x, y) => x + y, 0);
        lse[(b * s.hq + h) * s.sq + i] = Math.log(total);
        for (let e = 0; e < s.d; e++) {
          let acc = 0;
          for (let j = 0; j < s.sk; j++) acc += (weights[j] / total) * v[((b * s.kv + g) * s.sk + j) * s.d + e];
          out[((b * s.hq + h) * s.sq + i) * s.d + e] = acc;
        }
      }
    }
  return { out, lse };
}
