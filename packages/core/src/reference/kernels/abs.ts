import type { DeviceTensor } from '../../backend/device-tensor.js';
import { mapF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.abs}. */
export function abs(store: HostStore, x: DeviceTensor): DeviceTensor {
  return mapF32(store, 'abs', x, Math.abs);
}
