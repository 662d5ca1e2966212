import type { DeviceTensor } from '../../backend/device-tensor.js';
import { matmulGeometry } from '../../backend/geometry.js';
import type { MatmulOptions } from '../../backend/kernels.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.matmul}: one float64 dot product per output element. */
export function matmul(store: HostStore, a: DeviceTensor, b: DeviceTensor, options: MatmulOptions = {}): DeviceTensor {
  const { batch, m, k, n, aBatchStride, bBatchStride, shape } = matmulGeometry(a, b, options);
  const av = floats(store.tensor(a));
  const bv = floats(store.tensor(b));
  const out = new Float64Array(batch * m * n);
  // op(a) row i and op(b) column j, gathered contiguously so that the inner
  // loop reads both in order whatever the transposes.
  const row = new Float64Array(k);
  const cols = new Float64Array(n * k);
  for (let t = 0; t < batch; t++) {
    const ao = t * aBatchStride;
    const bo = t * bBatchStride;
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) cols[j * k + p] = options.transB ? bv[bo + j * k + p] : bv[bo + p * n + j];
    }
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) row[p] = options.transA ? av[ao + p * m + i] : av[ao + i * k + p];
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += row[p] * cols[j * k + p];
        out[(t * m + i) * n + j] = s;
      }
    }
  }
  return keepF32(store, shape, out);
}
