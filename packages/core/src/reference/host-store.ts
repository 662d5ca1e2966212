import type { DeviceTensor } from '../backend/device-tensor.js';
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
