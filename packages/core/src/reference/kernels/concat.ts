import type { DeviceTensor } from '../../backend/device-tensor.js';
import { concatGeometry } from '../../backend/geometry.js';
import { Tensor, allocStorage, bytesPerElement, type DType } from '../../tensor/index.js';
import type { HostStore } from '../host-store.js';

const bytesOf = (data: ArrayBufferView) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** Reference {@link Kernels.concat}: copies each block of `a`, then of `b`, byte for byte. */
export function concat(store: HostStore, a: DeviceTensor, b: DeviceTensor, axis: number): DeviceTensor {
  const { shape, outer, innerA, innerB } = concatGeometry(a, b, axis);
  const srcA = bytesOf(store.tensor(a).data);
  const srcB = bytesOf(store.tensor(b).data);
  const e = bytesPerElement(a.dtype);
  const [blockA, blockB] = [innerA * e, innerB * e];
  const data = allocStorage<DType>(a.dtype, outer * (innerA + innerB));
  const out = bytesOf(data);
  for (let o = 0; o < outer; o++) {
    out.set(srcA.subarray(o * blockA, (o + 1) * blockA), o * (blockA + blockB));
    out.set(srcB.subarray(o * blockB, (o + 1) * blockB), o * (blockA + blockB) + blockA);
  }
  return store.keep(new Tensor<DType>(a.dtype, shape, data));
}
