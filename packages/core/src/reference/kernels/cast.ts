import type { DeviceTensor } from '../../backend/device-tensor.js';
import { castGeometry } from '../../backend/geometry.js';
import type { HostStore } from '../host-store.js';

/** Reference {@link Kernels.cast}: the host tensor's exact round-to-nearest-even conversion. */
export function cast(store: HostStore, x: DeviceTensor, dtype: 'f32' | 'f16' | 'bf16'): DeviceTensor {
  castGeometry(x, dtype);
  return store.keep(store.tensor(x).castFloat(dtype));
}
