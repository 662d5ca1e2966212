import type { DeviceTensor } from '../../backend/device-tensor.js';
import { elementwiseGeometry } from '../../backend/geometry.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.abs}. */
export function abs(store: HostStore, x: DeviceTensor): DeviceTensor {
  const { size, shape } = elementwiseGeometry('abs', x);
  const xv = floats(store.tensor(x));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.abs(xv[i]);
  return keepF32(store, shape, out);
}
