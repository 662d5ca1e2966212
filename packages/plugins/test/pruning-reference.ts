// Float64 references for the pruning tests, written independently of the
// code under test: importance by the closed forms, selection by a full sort.

/** A matrix in float64, row-major. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export const mat = (rows: number, cols: number, values: ArrayLike<number>): Mat => ({ rows, cols, data: Float64Array.from(values) });

/** I(A_kj) = n_j·|Σ_i sign(W_ij)·B_ik|, I(B_ik) = |Σ_j sign(W_ij)·A_kj·n_j| with W = B·A. */
export function loraImportance64(a: Mat, b: Mat, n: ArrayLike<number>): { a: Float64Array; b: Float64Array } {
  const r = a.rows;
  const inF = a.cols;
  const out = b.rows;
  const sign = new Float64Array(out * inF);
  for (let i = 0; i < out; i++) {
    for (let j = 0; j < inF; j++) {
      let w = 0;
      for (let k = 0; k < r; k++) w += b.data[i * r + k] * a.data[k * inF + j];
      sign[i * inF + j] = w > 0 ? 1 : w < 0 ? -1 : 0;
    }
  }
  const ia = new Float64Array(r * inF);
  for (let k = 0; k < r; k++) {
    for (let j = 0; j < inF; j++) {
      let s = 0;
      for (let i = 0; i < out; i++) s += sign[i * inF + j] * b.data[i * r + k];
      ia[k * inF + j] = n[j] * Math.abs(s);
    }
  }
  const ib = new Float64Array(out * r);
  for (let i = 0; i < out; i++) {
    for (let k = 0; k < r; k++) {
      let s = 0;
      for (let j = 0; j < inF; j++) s += sign[i * inF + j] * a.data[k * inF + j] * n[j];
      ib[i * r + k] = Math.abs(s);
    }
  }
  return { a: ia, b: ib };
}

/**
 * The mask that prunes the `k` lowest of `scores` by a full sort: NaN lowest,
 * then ascending value (−0 = +0), ties by lower index first.
 */
export function sortMask(scores: ArrayLike<number>, k: number): Uint8Array {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  const key = (v: number) => (Number.isNaN(v) ? -Infinity : v);
  idx.sort((x, y) => {
    const nx = Number.isNaN(scores[x]);
    const ny = Number.isNaN(scores[y]);
    if (nx !== ny) return nx ? -1 : 1;
    const d = key(scores[x]) - key(scores[y]);
    return d !== 0 && !Number.isNaN(d) ? d : x - y;
  });
  const mask = new Uint8Array(scores.length);
  for (const i of idx.slice(0, k)) mask[i] = 1;
  return mask;
}

/** {@link sortMask} applied to consecutive groups of `groupSize`. */
export function groupedSortMask(scores: ArrayLike<number>, groupSize: number, k: number): Uint8Array {
  const mask = new Uint8Array(scores.length);
  for (let o = 0; o < scores.length; o += groupSize) mask.set(sortMask(Array.from(scores).slice(o, o + groupSize), k), o);
  return mask;
}
