import { LoraFuseError } from '../errors/index.js';

/**
 * Element types. Floats are computed in f32; f16 and bf16 are storage types
 * (raw bits in a `Uint16Array`). i64, u8 and bool exist for loading files and
 * masks.
 */
export type DType = 'f32' | 'f16' | 'bf16' | 'i32' | 'i64' | 'u8' | 'bool';

/** The typed array that holds elements of each dtype on the host. */
export interface StorageOf {
  f32: Float32Array;
  f16: Uint16Array;
  bf16: Uint16Array;
  i32: Int32Array;
  i64: BigInt64Array;
  u8: Uint8Array;
  bool: Uint8Array;
}

/** Any host storage array. */
export type Storage = StorageOf[DType];

const BYTES: Record<DType, number> = { f32: 4, f16: 2, bf16: 2, i32: 4, i64: 8, u8: 1, bool: 1 };

/** All dtypes, in a stable order. */
export const DTYPES: readonly DType[] = Object.freeze(Object.keys(BYTES) as DType[]);

/** Bytes per element of `dtype`. */
export function bytesPerElement(dtype: DType): number {
  return BYTES[dtype];
}

/** True for the floating-point dtypes. */
export function isFloatDType(dtype: DType): dtype is 'f32' | 'f16' | 'bf16' {
  return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16';
}

/** True when `value` names a dtype. */
export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(BYTES, value);
}

/** Allocates zeroed host storage for `size` elements of `dtype`. */
export function allocStorage<D extends DType>(dtype: D, size: number): StorageOf[D] {
  return viewStorage(dtype, new ArrayBuffer(size * BYTES[dtype]), 0, size);
}

/**
 * A typed-array view of `size` elements of `dtype` over `buffer` at
 * `byteOffset`. The offset must be aligned to the element size; use
 * {@link copyStorage} for unaligned bytes.
 */
export function viewStorage<D extends DType>(dtype: D, buffer: ArrayBufferLike, byteOffset: number, size: number): StorageOf[D] {
  switch (dtype) {
    case 'f32':
      return new Float32Array(buffer, byteOffset, size) as StorageOf[D];
    case 'f16':
    case 'bf16':
      return new Uint16Array(buffer, byteOffset, size) as StorageOf[D];
    case 'i32':
      return new Int32Array(buffer, byteOffset, size) as StorageOf[D];
    case 'i64':
      return new BigInt64Array(buffer, byteOffset, size) as StorageOf[D];
    case 'u8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, size) as StorageOf[D];
    default:
      throw new LoraFuseError('UNSUPPORTED_DTYPE', `Unknown dtype "${String(dtype)}".`);
  }
}

/**
 * Copies little-endian bytes into fresh storage of `dtype`. Works for any
 * alignment of `bytes` (file reads rarely land on aligned offsets).
 */
export function copyStorage<D extends DType>(dtype: D, bytes: Uint8Array): StorageOf[D] {
  const per = BYTES[dtype];
  if (bytes.byteLength % per !== 0) {
    throw new LoraFuseError('SHAPE_MISMATCH', `${bytes.byteLength} bytes is not a whole number of ${dtype} elements (${per} bytes each).`);
  }
  const buffer = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buffer).set(bytes);
  if (!LITTLE_ENDIAN && per > 1) swapBytes(new Uint8Array(buffer), per);
  return viewStorage(dtype, buffer, 0, bytes.byteLength / per);
}

/** The little-endian bytes of `storage` (a view when the host is little-endian). */
export function storageBytes(storage: Storage): Uint8Array {
  const view = new Uint8Array(storage.buffer, storage.byteOffset, storage.byteLength);
  if (LITTLE_ENDIAN || storage.BYTES_PER_ELEMENT === 1) return view;
  const copy = view.slice();
  swapBytes(copy, storage.BYTES_PER_ELEMENT);
  return copy;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}
