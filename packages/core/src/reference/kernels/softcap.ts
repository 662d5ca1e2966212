import type { DeviceTensor } from '../../backend/device-tensor.js';
import { softcapGeometry } from '../../backend/geometry.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.softcap}: `cap · tanh(x / cap)` in float64. */
export function softcap(store: HostStore, x: DeviceTensor, cap: number): DeviceTensor {
  const { size, shape } = softcapGeometry('softcap', cap, x);
  const xv = floats(store.tensor(x));
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = cap * Math.tanh(xv[i] / cap);
  return keepF32(store, shape, out);
}

/** Reference {@link Kernels.softcapBackward}: `dy · (1 − (y / cap)²)` in float64. */
export function softcapBackward(store: HostStore, y: DeviceTensor, dy: DeviceTensor, cap: number): DeviceTensor {
  const { size, shape } = softcapGeometry('softcapBackward', cap, y, dy);
  const yv = floats(store.tensor(y));
  const dv = floats(store.tensor(dy));
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const t = yv[i] / cap;
    out[i] = dv[i] * (1 - t * t);
  }
  return keepF32(store, shape, out);
}
