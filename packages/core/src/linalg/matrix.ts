import { LoraFuseError } from '../errors/index.js';

/** A dense row-major float64 matrix on the host: element (i, j) is `data[i * cols + j]`. */
export interface Matrix {
  /** Number of rows. */
  readonly rows: number;
  /** Number of columns. */
  readonly cols: number;
  /** The `rows · cols` elements, row-major. */
  readonly data: Float64Array;
}

/** A `rows × cols` matrix: zeros, or a copy of `values` (row-major). */
export function matrix(rows: number, cols: number, values?: ArrayLike<number>): Matrix {
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 0 || cols < 0) {
    throw new LoraFuseError('SHAPE_MISMATCH', `A matrix needs non-negative integer dimensions; got ${rows} × ${cols}.`, { details: { rows, cols } });
  }
  const data = new Float64Array(rows * cols);
  if (values !== undefined) {
    if (values.length !== data.length) {
      throw new LoraFuseError('SHAPE_MISMATCH', `A ${rows} × ${cols} matrix needs ${data.length} values; got ${values.length}.`, {
        details: { rows, cols, length: values.length },
      });
    }
    data.set(values);
  }
  return { rows, cols, data };
}

/** The transpose of `m`. */
export function transpose(m: Matrix): Matrix {
  const t = matrix(m.cols, m.rows);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) t.data[j * m.rows + i] = m.data[i * m.cols + j];
  return t;
}

/** The product `a · b`; throws `SHAPE_MISMATCH` when the inner dimensions differ. */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) {
    throw new LoraFuseError('SHAPE_MISMATCH', `Cannot multiply a ${a.rows} × ${a.cols} matrix by a ${b.rows} × ${b.cols} one.`, {
      details: { a: [a.rows, a.cols], b: [b.rows, b.cols] },
    });
  }
  const out = matrix(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    const row = i * b.cols;
    for (let k = 0; k < a.cols; k++) {
      const v = a.data[i * a.cols + k];
      if (v === 0) continue;
      const bk = k * b.cols;
      for (let j = 0; j < b.cols; j++) out.data[row + j] += v * b.data[bk + j];
    }
  }
  return out;
}
