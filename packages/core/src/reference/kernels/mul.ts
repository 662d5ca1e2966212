import type { DeviceTensor } from '../../backend/device-tensor.js';
import type { HostStore } from '../host-store.js';
import { broadcastBinary } from './broadcast-binary.js';

/** Reference {@link Kernels.mul}. */
export function mul(store: HostStore, a: DeviceTensor, b: DeviceTensor): DeviceTensor {
  return broadcastBinary(store, 'mul', a, b, (x, y) => x * y);
}
