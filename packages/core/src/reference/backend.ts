import { BACKEND_PRIORITIES, type Backend, type BackendFactory, type BackendMemory } from '../backend/backend.js';
import { DeviceTensorTable, uploadDType, type DeviceDType, type DeviceTensor } from '../backend/device-tensor.js';
import type { Kernels } from '../backend/kernels.js';
import { Tensor } from '../tensor/index.js';
import { referenceKernels } from './kernels/index.js';

/**
 * The reference backend: every kernel in plain TypeScript, accumulating in
 * float64 and rounding once to f32. Slow and obviously correct; the ground
 * truth of the conformance suite. Device tensors are host {@link Tensor}s.
 */
export class ReferenceBackend implements Backend {
  readonly name = 'reference';
  readonly isFallback = false;
  readonly description = 'reference (plain TypeScript, float64 accumulation)';
  readonly kernels: Kernels;
  readonly #table = new DeviceTensorTable<Tensor>('reference');

  constructor() {
    this.kernels = referenceKernels({
      tensor: (handle) => this.#table.get(handle),
      keep: (tensor) => this.#table.add(tensor.shape, uploadDType(tensor), tensor),
    });
  }

  get disposed(): boolean {
    return this.#table.closed;
  }

  upload(tensor: Tensor): DeviceTensor {
    const dtype = uploadDType(tensor);
    return this.#table.add(tensor.shape, dtype, new Tensor<DeviceDType>(dtype, tensor.shape, tensor.data.slice() as Tensor<DeviceDType>['data']));
  }

  async read(tensor: DeviceTensor): Promise<Tensor> {
    return this.readSync(tensor);
  }

  /** {@link ReferenceBackend.read} without the promise: the data already lives on the host. Returns a copy. */
  readSync(tensor: DeviceTensor): Tensor {
    const stored = this.#table.get(tensor);
    return new Tensor(stored.dtype, stored.shape, stored.data.slice());
  }

  free(tensor: DeviceTensor): void {
    this.#table.remove(tensor);
  }

  async sync(): Promise<void> {
    this.#table.assertOpen();
  }

  memory(): BackendMemory {
    // Views (reshapes) share their source's array: count each array once.
    let bytes = 0;
    for (const data of new Set([...this.#table.storages()].map((t) => t.data))) bytes += data.byteLength;
    return { tensors: this.#table.count, bytes };
  }

  async dispose(): Promise<void> {
    this.#table.close();
  }
}

/** The registry entry of the reference backend (priority {@link BACKEND_PRIORITIES}.reference). */
export function referenceBackend(): BackendFactory {
  return { name: 'reference', priority: BACKEND_PRIORITIES.reference, create: async () => new ReferenceBackend() };
}
