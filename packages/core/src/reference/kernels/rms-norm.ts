import type { DeviceTensor } from '../../backend/device-tensor.js';
import { rmsNormGeometry } from '../../backend/geometry.js';
import type { RmsNormGrads } from '../../backend/kernels.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** `1 / sqrt(mean(x²) + eps)` of one row, in float64. */
function inverseRms(x: Float32Array, offset: number, dim: number, eps: number): number {
  let ss = 0;
  for (let d = 0; d < dim; d++) ss += x[offset + d] * x[offset + d];
  return 1 / Math.sqrt(ss / dim + eps);
}

/** Reference {@link Kernels.rmsNorm}. */
export function rmsNorm(store: HostStore, x: DeviceTensor, weight: DeviceTensor, eps: number): DeviceTensor {
  const { rows, dim } = rmsNormGeometry(x, weight, eps);
  const xv = floats(store.tensor(x));
  const wv = floats(store.tensor(weight));
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const inv = inverseRms(xv, o, dim, eps);
    for (let d = 0; d < dim; d++) out[o + d] = wv[d] * xv[o + d] * inv;
  }
  return keepF32(store, x.shape, out);
}

/** Reference {@link Kernels.rmsNormBackward}. */
export function rmsNormBackward(store: HostStore, x: DeviceTensor, weight: DeviceTensor, dy: DeviceTensor, eps: number): RmsNormGrads {
  const { rows, dim } = rmsNormGeometry(x, weight, eps, dy);
  const xv = floats(store.tensor(x));
  const wv = floats(store.tensor(weight));
  const gv = floats(store.tensor(dy));
  const dx = new Float32Array(rows * dim);
  const dw = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const inv = inverseRms(xv, o, dim, eps);
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += gv[o + d] * wv[d] * xv[o + d] * inv;
    const mean = dot / dim;
    for (let d = 0; d < dim; d++) {
      const xhat = xv[o + d] * inv;
      dx[o + d] = inv * (gv[o + d] * wv[d] - xhat * mean);
      dw[d] += gv[o + d] * xhat;
    }
  }
  return { dx: keepF32(store, x.shape, dx), dWeight: keepF32(store, [dim], dw) };
}
