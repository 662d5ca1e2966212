import { householderQr, jacobiSvd, matmul, matrix, transpose, type Matrix } from '../linalg/index.js';

/** LoRA factors `a` `[rank, in]` and `b` `[out, rank]` whose product `b·a` approximates a ΔW. */
export interface LowRankFactors {
  /** `[rank, in]`. */
  readonly a: Matrix;
  /** `[out, rank]`. */
  readonly b: Matrix;
}

/**
 * The best rank-`rank` approximation of `u·diag(s)·vt` as LoRA factors, as
 * PEFT builds them: `b = U_k·diag(S_k)`, `a = Vh_k`. Columns beyond the
 * available singular values are zero, so `b·a` is unchanged.
 */
function truncate(u: Matrix, s: Float64Array, vt: Matrix, rank: number): LowRankFactors {
  const k = Math.min(rank, s.length);
  const b = matrix(u.rows, rank);
  const a = matrix(rank, vt.cols);
  for (let i = 0; i < u.rows; i++) for (let j = 0; j < k; j++) b.data[i * rank + j] = u.data[i * u.cols + j] * s[j];
  a.data.set(vt.data.subarray(0, k * vt.cols));
  return { a, b };
}

/** Rank-`rank` truncated SVD of a dense ΔW `[out, in]` (PEFT's `*_svd` types). */
export function lowRankFromDense(delta: Matrix, rank: number): LowRankFactors {
  const { u, s, vt } = jacobiSvd(delta);
  return truncate(u, s, vt, rank);
}

/**
 * Rank-`rank` truncated SVD of `Σ_i b_i·a_i` computed from the factors,
 * without forming the dense `[out, in]` matrix: with `B = [b_1 … b_n]` and
 * `A = [a_1; …; a_n]`, thin QR gives `B = Q_b·R_b` and `Aᵀ = Q_a·R_a`, so
 * `B·A = Q_b·(R_b·R_aᵀ)·Q_aᵀ`; the SVD of the small core `R_b·R_aᵀ`
 * (at most Σ ranks square) gives the singular values, and its vectors
 * mapped through `Q_b` and `Q_a` the singular vectors.
 */
export function lowRankFromFactors(bs: readonly Matrix[], as: readonly Matrix[], rank: number): LowRankFactors {
  const { q: qb, r: rb } = householderQr(hstack(bs));
  const { q: qa, r: ra } = householderQr(transpose(vstack(as)));
  const core = jacobiSvd(matmul(rb, transpose(ra)));
  return truncate(matmul(qb, core.u), core.s, transpose(matmul(qa, transpose(core.vt))), rank);
}

/** The matrices side by side (equal row counts). */
export function hstack(ms: readonly Matrix[]): Matrix {
  const rows = ms[0].rows;
  const cols = ms.reduce((n, m) => n + m.cols, 0);
  const out = matrix(rows, cols);
  let offset = 0;
  for (const m of ms) {
    for (let i = 0; i < rows; i++) out.data.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), i * cols + offset);
    offset += m.cols;
  }
  return out;
}

/** The matrices stacked vertically (equal column counts). */
export function vstack(ms: readonly Matrix[]): Matrix {
  const out = matrix(
    ms.reduce((n, m) => n + m.rows, 0),
    ms[0].cols,
  );
  let offset = 0;
  for (const m of ms) {
    out.data.set(m.data, offset);
    offset += m.data.length;
  }
  return out;
}
