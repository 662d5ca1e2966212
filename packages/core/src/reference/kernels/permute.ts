import type { DeviceTensor } from '../../backend/device-tensor.js';
import { permuteGeometry } from '../../backend/geometry.js';
import { Tensor, allocStorage, type DType } from '../../tensor/index.js';
import type { HostStore } from '../host-store.js';

/** Reference {@link Kernels.permute}: walks the result in order with an odometer over its dimensions. */
export function permute(store: HostStore, x: DeviceTensor, axes: readonly number[]): DeviceTensor {
  const { shape, strides } = permuteGeometry(x, axes);
  const src = store.tensor(x);
  const out = allocStorage<DType>(src.dtype, src.size);
  const index = new Array<number>(shape.length).fill(0);
  let from = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = src.data[from];
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      from += strides[d];
      if (index[d] < shape[d]) break;
      from -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return store.keep(new Tensor<DType>(src.dtype, shape, out));
}
