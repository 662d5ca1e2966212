import { LoraFuseError } from '../errors/index.js';
import { allocStorage, isFloatDType, type DType, type StorageOf } from './dtype.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './half.js';

/** A shape: a list of non-negative integer dimensions (row-major). */
export type Shape = readonly number[];

/** Number of elements of `shape` (1 for a scalar). */
export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws `SHAPE_MISMATCH` unless `shape` is a list of non-negative safe integers. */
export function checkShape(shape: Shape): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new LoraFuseError('SHAPE_MISMATCH', `Shape [${shape.join(', ')}] has an invalid dimension ${d}; dimensions must be non-negative integers.`);
    }
  }
}

/**
 * A tensor in host memory: a dtype, a row-major shape and the typed array
 * holding its elements. Backends keep their own device tensors; this is the
 * form files are read into and results are read back as.
 */
export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: Shape;
  readonly data: StorageOf[D];

  constructor(dtype: D, shape: Shape, data?: StorageOf[D]) {
    checkShape(shape);
    const size = shapeSize(shape);
    const storage = data ?? allocStorage(dtype, size);
    if (storage.length !== size) {
      throw new LoraFuseError('SHAPE_MISMATCH', `Shape [${shape.join(', ')}] needs ${size} elements but the data holds ${storage.length}.`, {
        details: { shape: [...shape], length: storage.length },
      });
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = storage;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** An f32 tensor from numbers (rounded to f32). */
  static f32(shape: Shape, values: ArrayLike<number> | Float32Array): Tensor<'f32'> {
    return new Tensor('f32', shape, values instanceof Float32Array ? values : Float32Array.from(values));
  }

  /** The elements widened to f32 (a copy). Integer dtypes convert by value. */
  toFloat32(): Float32Array {
    const out = new Float32Array(this.size);
    const src = this.data;
    switch (this.dtype) {
      case 'f16':
        for (let i = 0; i < out.length; i++) out[i] = f16BitsToF32(src[i] as number);
        break;
      case 'bf16':
        for (let i = 0; i < out.length; i++) out[i] = bf16BitsToF32(src[i] as number);
        break;
      case 'i64':
        for (let i = 0; i < out.length; i++) out[i] = Number(src[i] as bigint);
        break;
      default:
        for (let i = 0; i < out.length; i++) out[i] = src[i] as number;
    }
    return out;
  }

  /**
   * This tensor converted to another float dtype with round-to-nearest-even
   * (NaN, infinities and subnormals preserved).
   */
  castFloat<T extends 'f32' | 'f16' | 'bf16'>(dtype: T): Tensor<T> {
    if (!isFloatDType(this.dtype)) {
      throw new LoraFuseError('UNSUPPORTED_DTYPE', `castFloat converts between float dtypes; this tensor is ${this.dtype}.`);
    }
    if (dtype === 'f32') return new Tensor(dtype, this.shape, this.toFloat32() as StorageOf[T]);
    // An f32 source is read in place: no widened copy of a large weight.
    const wide = this.dtype === 'f32' ? (this.data as Float32Array) : this.toFloat32();
    const narrow = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
    const out = new Uint16Array(wide.length);
    for (let i = 0; i < wide.length; i++) out[i] = narrow(wide[i]);
    return new Tensor(dtype, this.shape, out as StorageOf[T]);
  }
}
