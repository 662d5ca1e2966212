import type { DeviceTensor } from '../../backend/device-tensor.js';
import { mapF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.sqrt}: the float64 root of an f32 rounds to the correctly rounded f32 root. */
export function sqrt(store: HostStore, x: DeviceTensor): DeviceTensor {
  return mapF32(store, 'sqrt', x, Math.sqrt);
}
