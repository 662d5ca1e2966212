import type { DeviceTensor } from '../../backend/device-tensor.js';
import { loraLinearGeometry } from '../../backend/geometry.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.loraLinear}: `x·W0ᵀ + scale·(x·Aᵀ)·Bᵀ`, the low-rank activation kept in float64. */
export function loraLinear(store: HostStore, x: DeviceTensor, w0: DeviceTensor, a: DeviceTensor, b: DeviceTensor, scale: number): DeviceTensor {
  const { rows, inFeatures, outFeatures, rank, shape } = loraLinearGeometry(x, w0, a, b, scale);
  const xv = floats(store.tensor(x));
  const wv = floats(store.tensor(w0));
  const av = floats(store.tensor(a));
  const bv = floats(store.tensor(b));
  const out = new Float64Array(rows * outFeatures);
  const low = new Float64Array(rank);
  for (let r = 0; r < rows; r++) {
    const xo = r * inFeatures;
    for (let q = 0; q < rank; q++) {
      let s = 0;
      for (let i = 0; i < inFeatures; i++) s += av[q * inFeatures + i] * xv[xo + i];
      low[q] = s;
    }
    for (let o = 0; o < outFeatures; o++) {
      let base = 0;
      for (let i = 0; i < inFeatures; i++) base += wv[o * inFeatures + i] * xv[xo + i];
      let delta = 0;
      for (let q = 0; q < rank; q++) delta += bv[o * rank + q] * low[q];
      out[r * outFeatures + o] = base + scale * delta;
    }
  }
  return keepF32(store, shape, out);
}
