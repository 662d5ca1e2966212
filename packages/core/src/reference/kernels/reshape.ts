import type { DeviceTensor } from '../../backend/device-tensor.js';
import { reshapeGeometry } from '../../backend/geometry.js';
import type { Shape } from '../../tensor/index.js';
import { Tensor, type DType } from '../../tensor/index.js';
import type { HostStore } from '../host-store.js';

/** Reference {@link Kernels.reshape}: a view, the same host array under the new shape. */
export function reshape(store: HostStore, x: DeviceTensor, shape: Shape): DeviceTensor {
  const to = reshapeGeometry(x, shape);
  const src = store.tensor(x);
  return store.keep(new Tensor<DType>(src.dtype, to, src.data));
}
