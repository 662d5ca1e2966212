export { DTYPES, allocStorage, bytesPerElement, copyStorage, isDType, isFloatDType, storageBytes, viewStorage } from './dtype.js';
export type { DType, Storage, StorageOf } from './dtype.js';
export { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './half.js';
export { Tensor, checkShape, shapeSize, type Shape } from './tensor.js';
