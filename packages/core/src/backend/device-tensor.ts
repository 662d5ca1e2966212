import { LoraFuseError } from '../errors/index.js';
import { shapeSize, type Shape, type Tensor } from '../tensor/index.js';

/**
 * The dtypes a backend keeps in device memory: f32 for compute, f16/bf16 for
 * stored base weights (widened inside kernels), i32 for token ids and
 * targets, u8 for pruning masks.
 */
export type DeviceDType = 'f32' | 'f16' | 'bf16' | 'i32' | 'u8';

/** The {@link DeviceDType}s, in a stable order. */
export const DEVICE_DTYPES: readonly DeviceDType[] = Object.freeze(['f32', 'f16', 'bf16', 'i32', 'u8']);

/**
 * Checks that a host tensor can be uploaded: a {@link DeviceDType} and as
 * many elements as its shape says. Throws `INVALID_OPTION` (not a tensor),
 * `UNSUPPORTED_DTYPE` or `SHAPE_MISMATCH`; returns the dtype.
 */
export function uploadDType(tensor: Tensor): DeviceDType {
  if (typeof tensor !== 'object' || tensor === null || !ArrayBuffer.isView(tensor.data) || !Array.isArray(tensor.shape)) {
    throw new LoraFuseError('INVALID_OPTION', 'upload expects a Tensor { dtype, shape, data }.');
  }
  if (!(DEVICE_DTYPES as readonly string[]).includes(tensor.dtype)) {
    throw new LoraFuseError(
      'UNSUPPORTED_DTYPE',
      `Backends store ${DEVICE_DTYPES.join(', ')}; convert the ${tensor.dtype} tensor first (i64 ids to i32, bool masks to u8).`,
      {
        details: { dtype: tensor.dtype },
      },
    );
  }
  if ((tensor.data as ArrayLike<unknown>).length !== shapeSize(tensor.shape)) {
    throw new LoraFuseError('SHAPE_MISMATCH', `Tensor of shape [${tensor.shape.join(', ')}] holds ${(tensor.data as ArrayLike<unknown>).length} elements.`);
  }
  return tensor.dtype as DeviceDType;
}

/**
 * An opaque handle to a tensor in one backend's memory.
 *
 * Only the backend that created a handle may use it; after `free` (or the
 * backend's `dispose`) the handle is dead. Using a dead or foreign handle
 * throws `TENSOR_DISPOSED` (`BACKEND_DISPOSED` once the backend is disposed).
 * Handles are immutable: kernels return new handles, except the documented
 * in-place kernels, which change the contents but never the shape.
 */
export interface DeviceTensor {
  /** Row-major shape. */
  readonly shape: Shape;
  /** Element type. */
  readonly dtype: DeviceDType;
  /** Number of elements (product of `shape`). */
  readonly size: number;
  /** Name of the backend that owns the handle (for messages). */
  readonly backend: string;
}

/**
 * The live handles of one backend and the storage behind each: the one place
 * that enforces ownership, freeing and disposal, so every backend reports
 * misuse with the same codes. `S` is whatever the backend stores per tensor
 * (a host array, a GPU buffer, an arena offset).
 */
export class DeviceTensorTable<S> {
  /** Name of the owning backend. */
  readonly backend: string;
  readonly #live = new Map<DeviceTensor, S>();
  #closed = false;

  constructor(backend: string) {
    this.backend = backend;
  }

  /** True after {@link DeviceTensorTable.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of live handles. */
  get count(): number {
    return this.#live.size;
  }

  /** Throws `BACKEND_DISPOSED` after {@link DeviceTensorTable.close}. */
  assertOpen(): void {
    if (this.#closed) {
      throw new LoraFuseError('BACKEND_DISPOSED', `The ${this.backend} backend was disposed; create a new one.`, { details: { backend: this.backend } });
    }
  }

  /** Creates a handle for `storage`. */
  add(shape: Shape, dtype: DeviceDType, storage: S): DeviceTensor {
    this.assertOpen();
    const handle: DeviceTensor = Object.freeze({ shape: Object.freeze([...shape]), dtype, size: shapeSize(shape), backend: this.backend });
    this.#live.set(handle, storage);
    return handle;
  }

  /** The storage behind a live handle of this backend. */
  get(handle: DeviceTensor): S {
    this.assertOpen();
    const storage = this.#live.get(handle);
    if (storage === undefined) throw this.#dead(handle);
    return storage;
  }

  /** Forgets a live handle and returns its storage, for the backend to release. */
  remove(handle: DeviceTensor): S {
    const storage = this.get(handle);
    this.#live.delete(handle);
    return storage;
  }

  /** The storage of every live handle (for memory statistics). */
  storages(): IterableIterator<S> {
    return this.#live.values();
  }

  /** Every live handle with its storage (for memory statistics by tensor). */
  entries(): IterableIterator<[DeviceTensor, S]> {
    return this.#live.entries();
  }

  /**
   * Marks the table closed and returns the storage of every handle still
   * live, for the backend to release. Every later call throws `BACKEND_DISPOSED`.
   */
  close(): S[] {
    const left = [...this.#live.values()];
    this.#live.clear();
    this.#closed = true;
    return left;
  }

  #dead(handle: DeviceTensor): LoraFuseError {
    const owner = typeof handle === 'object' && handle !== null ? (handle as Partial<DeviceTensor>).backend : undefined;
    const why =
      owner === this.backend
        ? 'it was freed (or belongs to another instance of this backend)'
        : `it belongs to ${owner === undefined ? 'no backend' : `the ${owner} backend`}`;
    return new LoraFuseError('TENSOR_DISPOSED', `The ${this.backend} backend cannot use this tensor: ${why}.`, {
      details: { backend: this.backend, owner },
    });
  }
}
