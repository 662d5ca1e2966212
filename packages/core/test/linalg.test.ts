// Householder QR and Jacobi SVD, checked against identities that hold for any
// correct factorization (reconstruction, orthogonality, triangularity) and
// against singular values known by construction.
import { householderQr, jacobiSvd, type Matrix } from '@lorafuse/core';
import { describe, expect, it } from 'vitest';

/** A deterministic pseudo-random matrix (LCG), independent of the library's RNG. */
function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  let state = seed >>> 0;
  const data = new Float64Array(rows * cols).map(() => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
  return { rows, cols, data };
}

/** Plain triple-loop product, written here so the checks do not use the code under test. */
function mul(a: Matrix, b: Matrix, transposeB = false): Matrix {
  const cols = transposeB ? b.rows : b.cols;
  const out = new Float64Array(a.rows * cols);
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k] * (transposeB ? b.data[j * b.cols + k] : b.data[k * b.cols + j]);
      out[i * cols + j] = s;
    }
  return { rows: a.rows, cols, data: out };
}

const gram = (m: Matrix): Matrix => {
  const t: Matrix = { rows: m.cols, cols: m.rows, data: new Float64Array(m.data.length) };
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) t.data[j * m.rows + i] = m.data[i * m.cols + j];
  return mul(t, m);
};

function maxAbsDiff(x: Float64Array, y: Float64Array): number {
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return x.length === y.length ? d : NaN;
}

const identity = (n: number) => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
const scaleColumns = (m: Matrix, s: ArrayLike<number>): Matrix => ({ ...m, data: m.data.map((v, i) => v * s[i % m.cols]) });

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [5, 3],
  [3, 5],
  [12, 12],
  [40, 7],
  [7, 40],
  [33, 17],
];

describe('householderQr', () => {
  it.each(SHAPES)('%i × %i: Q·R = M, QᵀQ = I, R upper triangular', (rows, cols) => {
    const m = randomMatrix(rows, cols, rows * 100 + cols);
    const { q, r } = householderQr(m);
    const p = Math.min(rows, cols);
    expect([q.rows, q.cols, r.rows, r.cols]).toEqual([rows, p, p, cols]);
    expect(maxAbsDiff(mul(q, r).data, m.data)).toBeLessThan(1e-13);
    expect(maxAbsDiff(gram(q).data, identity(p))).toBeLessThan(1e-13);
    for (let i = 0; i < p; i++) for (let j = 0; j < Math.min(i, cols); j++) expect(r.data[i * cols + j]).toBe(0);
  });

  it('handles a zero column (rank-deficient input)', () => {
    const m = randomMatrix(6, 4, 7);
    for (let i = 0; i < 6; i++) m.data[i * 4 + 1] = 0;
    const { q, r } = householderQr(m);
    expect(maxAbsDiff(mul(q, r).data, m.data)).toBeLessThan(1e-13);
    expect(maxAbsDiff(gram(q).data, identity(4))).toBeLessThan(1e-13);
  });
});

describe('jacobiSvd', () => {
  it.each(SHAPES)('%i × %i: U·diag(S)·Vᵀ = M, orthonormal U and V, S descending', (rows, cols) => {
    const m = randomMatrix(rows, cols, rows * 31 + cols);
    const { u, s, vt } = jacobiSvd(m);
    const p = Math.min(rows, cols);
    expect([u.rows, u.cols, s.length, vt.rows, vt.cols]).toEqual([rows, p, p, p, cols]);
    expect(maxAbsDiff(mul(scaleColumns(u, s), vt).data, m.data)).toBeLessThan(1e-13);
    expect(maxAbsDiff(gram(u).data, identity(p))).toBeLessThan(1e-13);
    expect(maxAbsDiff(mul(vt, vt, true).data, identity(p))).toBeLessThan(1e-13);
    for (let k = 1; k < p; k++) expect(s[k]).toBeLessThanOrEqual(s[k - 1]);
  });

  it('recovers singular values known by construction, including zeros', () => {
    // M = Q1·diag(σ)·Q2ᵀ with Q1, Q2 orthonormal (from QR of random matrices).
    const sigma = [9, 4.5, 2, 1e-3, 0, 0];
    const q1 = householderQr(randomMatrix(10, 6, 1)).q;
    const q2 = householderQr(randomMatrix(8, 6, 2)).q;
    const m = mul(scaleColumns(q1, sigma), q2, true);
    const { u, s, vt } = jacobiSvd(m);
    // 10 × 8: eight singular values, the last four (two given, two implied) zero.
    expect(maxAbsDiff(s, Float64Array.from([...sigma, 0, 0]))).toBeLessThan(1e-13);
    expect(maxAbsDiff(gram(u).data, identity(8))).toBeLessThan(1e-12);
    expect(maxAbsDiff(mul(scaleColumns(u, s), vt).data, m.data)).toBeLessThan(1e-13);
  });

  it('gives the singular values of a diagonal matrix in descending order', () => {
    const m: Matrix = { rows: 3, cols: 3, data: Float64Array.from([2, 0, 0, 0, -7, 0, 0, 0, 3]) };
    expect([...jacobiSvd(m).s]).toEqual([7, 3, 2]);
  });
});
