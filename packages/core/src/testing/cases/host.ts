import { Tensor, shapeSize, type Shape } from '../../tensor/index.js';
import type { InputRandom } from '../input-random.js';

/** An f32 host tensor. */
export const f32 = (shape: Shape, data: Float32Array): Tensor => new Tensor('f32', shape, data);

/** An f32 host tensor of uniform values in `[lo, hi)`. */
export const uniformF32 = (rng: InputRandom, shape: Shape, lo = -1, hi = 1): Tensor => f32(shape, rng.floats(shapeSize(shape), lo, hi));

/** An f32 host tensor of normals. */
export const normalF32 = (rng: InputRandom, shape: Shape, std = 1): Tensor => f32(shape, rng.normals(shapeSize(shape), std));

/** An i32 host tensor. */
export const i32 = (shape: Shape, data: ArrayLike<number>): Tensor => new Tensor('i32', shape, Int32Array.from(data));

/** A u8 host tensor. */
export const u8 = (shape: Shape, data: ArrayLike<number>): Tensor => new Tensor('u8', shape, Uint8Array.from(data));

/** `data` with some elements replaced (NaN, infinities...), for propagation cases. */
export function withValues(t: Tensor, values: readonly (readonly [number, number])[]): Tensor {
  const data = (t.data as Float32Array).slice();
  for (const [i, v] of values) data[i] = v;
  return f32(t.shape, data);
}
