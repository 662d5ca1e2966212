import { matrix, type Matrix } from './matrix.js';

/** A thin QR factorization `m = q · r`. */
export interface QrFactors {
  /** `rows × p` with orthonormal columns, `p = min(rows, cols)`. */
  readonly q: Matrix;
  /** `p × cols`, upper triangular (upper trapezoidal when `cols > rows`). */
  readonly r: Matrix;
}

/**
 * Thin Householder QR of `m` in float64. Each reflection `I − 2vvᵀ/(vᵀv)`
 * zeroes one column below the diagonal; Q is accumulated by applying the
 * reflections to the first `p` columns of the identity, in reverse.
 */
export function householderQr(m: Matrix): QrFactors {
  const { rows, cols } = m;
  const p = Math.min(rows, cols);
  const a = Float64Array.from(m.data);
  const vs: Float64Array[] = [];
  for (let k = 0; k < p; k++) {
    const v = new Float64Array(rows - k);
    let norm2 = 0;
    for (let i = k; i < rows; i++) norm2 += a[i * cols + k] ** 2;
    const x0 = a[k * cols + k];
    const alpha = -(x0 >= 0 ? 1 : -1) * Math.sqrt(norm2);
    for (let i = k; i < rows; i++) v[i - k] = a[i * cols + k];
    v[0] -= alpha;
    let vv = 0;
    for (const x of v) vv += x * x;
    vs.push(v);
    // A zero column needs no reflection (v = 0 leaves it as it is).
    if (vv === 0) continue;
    for (let j = k; j < cols; j++) {
      let dot = 0;
      for (let i = k; i < rows; i++) dot += v[i - k] * a[i * cols + j];
      const f = (2 * dot) / vv;
      for (let i = k; i < rows; i++) a[i * cols + j] -= f * v[i - k];
    }
  }
  const r = matrix(p, cols);
  for (let i = 0; i < p; i++) for (let j = i; j < cols; j++) r.data[i * cols + j] = a[i * cols + j];
  const q = matrix(rows, p);
  for (let i = 0; i < p; i++) q.data[i * p + i] = 1;
  for (let k = p - 1; k >= 0; k--) {
    const v = vs[k];
    let vv = 0;
    for (const x of v) vv += x * x;
    if (vv === 0) continue;
    for (let j = 0; j < p; j++) {
      let dot = 0;
      for (let i = k; i < rows; i++) dot += v[i - k] * q.data[i * p + j];
      const f = (2 * dot) / vv;
      for (let i = k; i < rows; i++) q.data[i * p + j] -= f * v[i - k];
    }
  }
  return { q, r };
}
