import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';

/** Adds each tensor of `parts` into `total` under its key (freeing what it replaces and the part) and returns `total`. */
export function accumulate<K>(backend: Backend, total: Map<K, DeviceTensor>, parts: ReadonlyMap<K, DeviceTensor>): Map<K, DeviceTensor> {
  for (const [key, part] of parts) {
    const previous = total.get(key);
    if (previous === undefined) {
      total.set(key, part);
      continue;
    }
    total.set(key, backend.kernels.add(previous, part));
    backend.free(previous);
    backend.free(part);
  }
  return total;
}
