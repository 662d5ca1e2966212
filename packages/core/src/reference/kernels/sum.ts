import type { DeviceTensor } from '../../backend/device-tensor.js';
import { sumGeometry } from '../../backend/geometry.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.sum}. */
export function sum(store: HostStore, x: DeviceTensor): DeviceTensor {
  const size = sumGeometry(x);
  const xv = floats(store.tensor(x));
  let s = 0;
  for (let i = 0; i < size; i++) s += xv[i];
  return keepF32(store, [], [s]);
}
