import type { DeviceTensor } from '../../backend/device-tensor.js';
import { scaleGeometry } from '../../backend/geometry.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.scale}. */
export function scale(store: HostStore, x: DeviceTensor, factor: number): DeviceTensor {
  const { size, shape } = scaleGeometry(x, factor);
  const xv = floats(store.tensor(x));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = factor * xv[i];
  return keepF32(store, shape, out);
}
