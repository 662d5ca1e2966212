import type { DeviceTensor } from '../../backend/device-tensor.js';
import { columnSumSquaresGeometry } from '../../backend/geometry.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.columnSumSquares}. */
export function columnSumSquares(store: HostStore, x: DeviceTensor): DeviceTensor {
  const { rows, dim } = columnSumSquaresGeometry(x);
  const xv = floats(store.tensor(x));
  const out = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < dim; c++) out[c] += xv[r * dim + c] * xv[r * dim + c];
  }
  return keepF32(store, [dim], out);
}
