import type { DType, Tensor } from '../../tensor/index.js';
import type { JsonLimits } from '../text.js';
import type { SafetensorsDType } from './dtypes.js';

/** Limits applied when opening untrusted safetensors files. */
export interface SafetensorsLimits {
  /** Largest accepted header, in bytes. Default 100 MiB. */
  maxHeaderBytes?: number;
  /** Most tensors accepted in one file. Default 100 000. */
  maxTensors?: number;
  /** Most dimensions accepted in one shape. Default 8. */
  maxRank?: number;
  /** Limits for the header JSON; `maxBytes` defaults to `maxHeaderBytes`. */
  json?: JsonLimits;
}

/** Where a tensor lies in a safetensors file and what it holds. */
export interface TensorInfo {
  /** Tensor name, as in the header. */
  readonly name: string;
  /** dtype as written in the file. */
  readonly fileDtype: SafetensorsDType;
  /** The dtype it loads as, or `undefined` when LoRAFuse cannot load that dtype. */
  readonly dtype: DType | undefined;
  /** Row-major shape (`[]` for a scalar). */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** First byte, relative to the data section (as in the header). */
  readonly begin: number;
  /** End byte (exclusive), relative to the data section. */
  readonly end: number;
}

/** Named tensors read lazily, one at a time: a safetensors file or a sharded checkpoint. */
export interface TensorStore {
  /** Every tensor, in header (or index) order. */
  readonly tensors: readonly TensorInfo[];
  /** String metadata (`__metadata__` of a file, `metadata` of a shard index). */
  readonly metadata: Readonly<Record<string, string>>;
  /** True when a tensor of that name exists. */
  has(name: string): boolean;
  /** The tensor's info; throws `TENSOR_NOT_FOUND`. */
  info(name: string): TensorInfo;
  /** Reads one tensor's bytes only; throws `TENSOR_NOT_FOUND` or `UNSUPPORTED_DTYPE`. */
  read(name: string, signal?: AbortSignal): Promise<Tensor>;
}
