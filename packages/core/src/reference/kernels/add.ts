import type { DeviceTensor } from '../../backend/device-tensor.js';
import type { HostStore } from '../host-store.js';
import { broadcastBinary } from './broadcast-binary.js';

/** Reference {@link Kernels.add}. */
export function add(store: HostStore, a: DeviceTensor, b: DeviceTensor): DeviceTensor {
  return broadcastBinary(store, 'add', a, b, (x, y) => x + y);
}
