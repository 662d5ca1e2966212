import { matrix, transpose, type Matrix } from './matrix.js';

/** A thin singular value decomposition `m = u · diag(s) · vt`. */
export interface SvdFactors {
  /** `rows × p` with orthonormal columns, `p = min(rows, cols)`. */
  readonly u: Matrix;
  /** The `p` singular values, non-negative and in descending order. */
  readonly s: Float64Array;
  /** `p × cols` with orthonormal rows. */
  readonly vt: Matrix;
}

const MAX_SWEEPS = 60;

/**
 * Thin SVD of `m` in float64 by one-sided Jacobi (Hestenes): plane
 * rotations orthogonalize the columns of a working copy until every pair is
 * orthogonal to machine precision; the column norms are the singular values.
 * Accurate to high relative precision, O(rows·cols²) per sweep: meant for
 * the small matrices of LoRA merging (a module's ΔW, or a core of size
 * Σ ranks), not for large dense ones.
 */
export function jacobiSvd(m: Matrix): SvdFactors {
  if (m.rows < m.cols) {
    const t = jacobiSvd(transpose(m));
    return { u: transpose(t.vt), s: t.s, vt: transpose(t.u) };
  }
  const { rows, cols: n } = m;
  // Columns are stored contiguously (working on the transpose) for the inner loops.
  const w = transpose(m).data;
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < rows; i++) {
          const x = w[p * rows + i];
          const y = w[q * rows + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(w, rows, p, q, c, s);
        rotate(v, n, p, q, c, s);
      }
    }
    if (!rotated) break;
  }
  const norms = Array.from({ length: n }, (_, j) => {
    let ss = 0;
    for (let i = 0; i < rows; i++) ss += w[j * rows + i] ** 2;
    return Math.sqrt(ss);
  });
  const order = norms.map((_, j) => j).sort((x, y) => norms[y] - norms[x] || x - y);
  const u = matrix(rows, n);
  const s = new Float64Array(n);
  const vt = matrix(n, n);
  order.forEach((j, k) => {
    s[k] = norms[j];
    for (let i = 0; i < n; i++) vt.data[k * n + i] = v[j * n + i];
    if (norms[j] > 0) for (let i = 0; i < rows; i++) u.data[i * n + k] = w[j * rows + i] / norms[j];
  });
  completeColumns(u, s);
  return { u, s, vt };
}

/** Rotates vectors `p` and `q` (each `len` long, stored contiguously) by the Jacobi rotation (c, s). */
function rotate(x: Float64Array, len: number, p: number, q: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const a = x[p * len + i];
    const b = x[q * len + i];
    x[p * len + i] = c * a - s * b;
    x[q * len + i] = s * a + c * b;
  }
}

/**
 * Fills the columns of `u` that belong to zero singular values with unit
 * vectors orthogonal to the others (Gram–Schmidt against the standard
 * basis), so that `u` has orthonormal columns even for rank-deficient input.
 */
function completeColumns(u: Matrix, s: Float64Array): void {
  const { rows, cols } = u;
  let basis = 0;
  for (let k = 0; k < cols; k++) {
    if (s[k] > 0) continue;
    for (; basis < rows; basis++) {
      const x = new Float64Array(rows);
      x[basis] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (let j = 0; j < cols; j++) {
          if (j === k || (s[j] === 0 && j > k)) continue;
          let dot = 0;
          for (let i = 0; i < rows; i++) dot += u.data[i * cols + j] * x[i];
          for (let i = 0; i < rows; i++) x[i] -= dot * u.data[i * cols + j];
        }
      }
      let norm = 0;
      for (const e of x) norm += e * e;
      norm = Math.sqrt(norm);
      if (norm > 1e-8) {
        for (let i = 0; i < rows; i++) u.data[i * cols + k] = x[i] / norm;
        basis++;
        break;
      }
    }
  }
}
