import type { DeviceTensor } from '../../backend/device-tensor.js';
import { sliceGeometry } from '../../backend/geometry.js';
import { Tensor, allocStorage, bytesPerElement, type DType } from '../../tensor/index.js';
import type { HostStore } from '../host-store.js';

const bytesOf = (data: ArrayBufferView) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** Reference {@link Kernels.slice}: copies the slice of each block, byte for byte. */
export function slice(store: HostStore, x: DeviceTensor, axis: number, start: number, length: number): DeviceTensor {
  const { shape, outer, inner, offset, size } = sliceGeometry(x, axis, start, length);
  const src = bytesOf(store.tensor(x).data);
  const e = bytesPerElement(x.dtype);
  const data = allocStorage<DType>(x.dtype, outer * size);
  const out = bytesOf(data);
  for (let o = 0; o < outer; o++) out.set(src.subarray((o * inner + offset) * e, (o * inner + offset + size) * e), o * size * e);
  return store.keep(new Tensor<DType>(x.dtype, shape, data));
}
