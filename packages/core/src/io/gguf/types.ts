import type { Tensor } from '../../tensor/index.js';

/** The GGUF metadata value types that hold numbers (`u64`/`i64` as `bigint`). */
export type GgufNumberType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';

/** The GGUF metadata value types other than arrays. */
export type GgufScalarType = GgufNumberType | 'u64' | 'i64' | 'bool' | 'string';

/** One scalar metadata value, tagged with its GGUF type. */
export type GgufScalar =
  | { readonly type: GgufNumberType; readonly value: number }
  | { readonly type: 'u64' | 'i64'; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string };

/**
 * A GGUF metadata value: a scalar, or an array of scalars of one type
 * (GGUF also allows arrays of arrays; nothing LoRAFuse writes needs them).
 */
export type GgufValue =
  | GgufScalar
  | { readonly type: 'array'; readonly itemType: GgufNumberType; readonly values: readonly number[] }
  | { readonly type: 'array'; readonly itemType: 'u64' | 'i64'; readonly values: readonly bigint[] }
  | { readonly type: 'array'; readonly itemType: 'bool'; readonly values: readonly boolean[] }
  | { readonly type: 'array'; readonly itemType: 'string'; readonly values: readonly string[] };

/**
 * A tensor to write: its GGUF name (at most 63 bytes of UTF-8, as ggml
 * allows) and its data, an f32 or f16 tensor of at most 4 dimensions in
 * LoRAFuse's row-major order (`[rows, cols]`). GGUF lists dimensions
 * innermost first, so the file records `[cols, rows]`.
 */
export interface GgufTensor {
  readonly name: string;
  readonly tensor: Tensor;
}

/** What a GGUF file holds: metadata key/value pairs in order, then tensors in order. */
export interface GgufContent {
  /** Metadata, written in this order. Keys are ASCII, at most 65535 bytes, each once; `general.alignment` comes from `alignment`. */
  readonly metadata: ReadonlyArray<readonly [string, GgufValue]>;
  /** Tensors, written in this order, each name once. */
  readonly tensors: readonly GgufTensor[];
  /** Byte alignment of the tensor data: a power of two from 8 (default 32, GGUF's; others are recorded as `general.alignment`). */
  readonly alignment?: number;
}
