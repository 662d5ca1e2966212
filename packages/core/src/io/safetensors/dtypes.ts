import type { DType } from '../../tensor/index.js';

/** safetensors dtype names as they appear in files. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL' | 'F8_E4M3' | 'F8_E5M2';

/** Bytes per element of each file dtype, and the LoRAFuse dtype it loads as (if any). */
const FILE_DTYPES: Readonly<Record<SafetensorsDType, { bytes: number; dtype?: DType }>> = {
  F64: { bytes: 8 },
  F32: { bytes: 4, dtype: 'f32' },
  F16: { bytes: 2, dtype: 'f16' },
  BF16: { bytes: 2, dtype: 'bf16' },
  I64: { bytes: 8, dtype: 'i64' },
  I32: { bytes: 4, dtype: 'i32' },
  I16: { bytes: 2 },
  I8: { bytes: 1 },
  U64: { bytes: 8 },
  U32: { bytes: 4 },
  U16: { bytes: 2 },
  U8: { bytes: 1, dtype: 'u8' },
  BOOL: { bytes: 1, dtype: 'bool' },
  F8_E4M3: { bytes: 1 },
  F8_E5M2: { bytes: 1 },
};

const TO_FILE: Readonly<Record<DType, SafetensorsDType>> = { f32: 'F32', f16: 'F16', bf16: 'BF16', i64: 'I64', i32: 'I32', u8: 'U8', bool: 'BOOL' };

/** True when `value` names a safetensors dtype. */
export function isSafetensorsDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.hasOwn(FILE_DTYPES, value);
}

/** Bytes per element of a file dtype. */
export function fileDTypeBytes(dtype: SafetensorsDType): number {
  return FILE_DTYPES[dtype].bytes;
}

/** The LoRAFuse dtype a file dtype loads as, or `undefined` when it cannot be loaded. */
export function loadedDType(dtype: SafetensorsDType): DType | undefined {
  return FILE_DTYPES[dtype].dtype;
}

/** The file dtype a LoRAFuse dtype is written as (undefined for an unknown dtype). */
export function fileDType(dtype: DType): SafetensorsDType | undefined {
  return Object.hasOwn(TO_FILE, dtype) ? TO_FILE[dtype] : undefined;
}
