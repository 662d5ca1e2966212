import type { DeviceTensor } from '../../backend/device-tensor.js';
import { globalNormGeometry } from '../../backend/geometry.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.globalNorm}. */
export function globalNorm(store: HostStore, tensors: readonly DeviceTensor[]): DeviceTensor {
  globalNormGeometry(tensors);
  let ss = 0;
  for (const t of tensors) {
    const xv = floats(store.tensor(t));
    for (let i = 0; i < xv.length; i++) ss += xv[i] * xv[i];
  }
  return keepF32(store, [], [Math.sqrt(ss)]);
}
