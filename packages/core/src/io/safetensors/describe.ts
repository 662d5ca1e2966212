import type { SafetensorsDType } from './dtypes.js';
import type { TensorStore } from './types.js';

/** What `lorafuse info --json` reports for a safetensors file or sharded checkpoint. */
export interface SafetensorsDescription {
  readonly kind: 'safetensors';
  /** Every tensor with its file dtype and shape, in header order. */
  readonly tensors: readonly { name: string; dtype: SafetensorsDType; shape: readonly number[] }[];
  /** Total element count. */
  readonly parameters: number;
  /** The file's `__metadata__` (or the index's metadata). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Summarises a {@link TensorStore} without reading any tensor data. */
export function describeSafetensors(store: TensorStore): SafetensorsDescription {
  return {
    kind: 'safetensors',
    tensors: store.tensors.map((t) => ({ name: t.name, dtype: t.fileDtype, shape: [...t.shape] })),
    parameters: store.tensors.reduce((n, t) => n + t.size, 0),
    metadata: { ...store.metadata },
  };
}
