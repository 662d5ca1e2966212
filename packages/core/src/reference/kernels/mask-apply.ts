import type { DeviceTensor } from '../../backend/device-tensor.js';
import { maskApplyGeometry } from '../../backend/geometry.js';
import { floats, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.maskApply}, in place. */
export function maskApply(store: HostStore, param: DeviceTensor, mask: DeviceTensor, init?: DeviceTensor): void {
  const size = maskApplyGeometry(param, mask, init);
  const pv = floats(store.tensor(param));
  const mv = store.tensor(mask).data as Uint8Array;
  const iv = init ? floats(store.tensor(init)) : undefined;
  for (let i = 0; i < size; i++) if (mv[i] !== 0) pv[i] = iv ? iv[i] : 0;
}
