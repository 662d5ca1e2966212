import type { DeviceTensor } from '../backend/device-tensor.js';
import { elementwiseGeometry } from '../backend/geometry.js';
import type { KernelName } from '../backend/kernels.js';
import { Tensor, type Shape } from '../tensor/index.js';

/**
 * How reference kernels reach their data: every device tensor of the
 * reference backend is a host {@link Tensor}.
 */
export interface HostStore {
  /** The host tensor behind a live handle (`TENSOR_DISPOSED` otherwise). */
  tensor(handle: DeviceTensor): Tensor;
  /** Hands a freshly computed host tensor to the backend and returns its handle. */
  keep(tensor: Tensor): DeviceTensor;
}

/** The values of a float tensor (f16/bf16 widened exactly). */
export function floats(tensor: Tensor): Float32Array {
  return tensor.dtype === 'f32' ? (tensor.data as Float32Array) : tensor.toFloat32();
}

/** The elements of an i32 tensor. */
export function ints(tensor: Tensor): Int32Array {
  return tensor.data as Int32Array;
}

/** Rounds float64 results to a new f32 handle (the reference's single rounding). */
export function keepF32(store: HostStore, shape: Shape, values: ArrayLike<number>): DeviceTensor {
  return store.keep(new Tensor('f32', shape, values instanceof Float32Array ? values : Float32Array.from(values)));
}

/** A kernel of one f32 input, elementwise: `f` of each value in float64, rounded once to f32. */
export function mapF32(store: HostStore, kernel: KernelName, x: DeviceTensor, f: (value: number) => number): DeviceTensor {
  const { size, shape } = elementwiseGeometry(kernel, x);
  const xv = floats(store.tensor(x));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = f(xv[i]);
  return keepF32(store, shape, out);
}
