import type { DeviceTensor } from '../../backend/device-tensor.js';
import { elementwiseGeometry } from '../../backend/geometry.js';
import { floats, keepF32, mapF32, type HostStore } from '../host-store.js';

/** The logistic function in float64. */
export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Reference {@link Kernels.silu}. */
export function silu(store: HostStore, x: DeviceTensor): DeviceTensor {
  return mapF32(store, 'silu', x, (v) => v * sigmoid(v));
}

/** Reference {@link Kernels.siluBackward}. */
export function siluBackward(store: HostStore, x: DeviceTensor, dy: DeviceTensor): DeviceTensor {
  const { size, shape } = elementwiseGeometry('siluBackward', x, dy);
  const xv = floats(store.tensor(x));
  const gv = floats(store.tensor(dy));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const s = sigmoid(xv[i]);
    out[i] = gv[i] * s * (1 + xv[i] * (1 - s));
  }
  return keepF32(store, shape, out);
}
