/// <reference types="@webgpu/types" />
import {
  BACKEND_PRIORITIES,
  DeviceTensorTable,
  LoraFuseError,
  Tensor,
  allocStorage,
  storageBytes,
  uploadDType,
  type Backend,
  type BackendFactory,
  type BackendMemory,
  type BackendMemoryPeaks,
  type DeviceDType,
  type DeviceTensor,
  type Kernels,
  type MemoryTraits,
} from '@lorafuse/core';
import { BufferPool } from './gpu/buffer-pool.js';
import { CommandQueue } from './gpu/command-queue.js';
import { PipelineCache } from './gpu/pipeline-cache.js';
import { WaitPacer, runningOnNode } from './gpu/wait-pacer.js';
import { requestWebGPUDevice, type WebGPUDeviceHandle, type WebGPUDeviceOptions } from './device.js';
import { webgpuMemoryTraits } from './memory-traits.js';
import { KernelContext, TENSOR_USAGE, tensorBytes, type GpuStorage } from './kernels/context.js';
import { webgpuKernels } from './kernels/index.js';

/** Options of {@link webgpuBackend}. */
export interface WebGPUBackendOptions extends WebGPUDeviceOptions {
  /**
   * Run on this already acquired device instead of requesting one. The
   * backend then does not destroy the device on `dispose`; the caller does.
   */
  readonly handle?: WebGPUDeviceHandle;
  /**
   * Use the kernel variants made for CPU adapters: no workgroup memory and
   * no barriers (a matmul that reads its operands straight from the
   * buffers, one thread per row in row reductions). Default: when the
   * adapter is a CPU/fallback one (lavapipe, SwiftShader), where these run
   * several times faster; `false` forces the GPU variants everywhere.
   */
  readonly cpuKernels?: boolean;
  /**
   * Bytes of GPU memory the backend may plan to use (WebGPU reports
   * per-buffer limits, not the device's total): `train()` and `adapt()`
   * refuse, before their first step, a run whose memory plan exceeds it,
   * and model loading refuses larger weights ({@link Backend.maxBytes}).
   */
  readonly memoryBudget?: number;
}

// WebGPU flags spelled out: under Node the GPUBufferUsage/GPUMapMode globals
// exist only when Dawn was loaded through this package, not for a caller's device.
const MAP_READ_USAGE = 0x01 /* MAP_READ */ | 0x08; /* COPY_DST */
const MAP_MODE_READ = 0x01;

/**
 * The WebGPU backend: every kernel in WGSL. Kernels are encoded into one
 * command encoder and submitted together when a result is read or
 * {@link WebGPUBackend.sync} is awaited; tensor buffers come from a pool
 * keyed by size, so a steady training loop creates no new GPU buffers.
 * When the device is lost every call throws `DEVICE_LOST` and
 * {@link WebGPUBackend.disposed} turns true.
 */
export class WebGPUBackend implements Backend {
  readonly name = 'webgpu';
  readonly isFallback: boolean;
  readonly description: string;
  readonly kernels: Kernels;
  /** The device the kernels run on. */
  readonly device: GPUDevice;
  readonly #table = new DeviceTensorTable<GpuStorage>('webgpu');
  readonly #pool: BufferPool;
  readonly #queue: CommandQueue;
  readonly #pacer = new WaitPacer(runningOnNode());
  readonly #ownsDevice: boolean;
  #lost: GPUDeviceLostInfo | undefined;
  #disposing = false;
  #validationError: string | undefined;

  /** The `memoryBudget` option, when given. */
  readonly maxBytes?: number;

  constructor(handle: WebGPUDeviceHandle, ownsDevice: boolean, cpuKernels = handle.info.isFallback, memoryBudget?: number) {
    const { device, info } = handle;
    this.device = device;
    if (memoryBudget !== undefined) {
      if (!(Number.isSafeInteger(memoryBudget) && memoryBudget > 0))
        throw new LoraFuseError('INVALID_OPTION', `memoryBudget must be a positive integer of bytes, got ${String(memoryBudget)}.`, {
          details: { option: 'memoryBudget', value: memoryBudget },
        });
      this.maxBytes = memoryBudget;
    }
    this.#ownsDevice = ownsDevice;
    this.isFallback = info.isFallback;
    this.description = `webgpu on ${[info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' ') || 'an unnamed adapter'}${
      info.isFallback ? ' (CPU fallback adapter)' : ''
    }`;
    this.#pool = new BufferPool(device);
    this.#queue = new CommandQueue(device, this.#pool);
    const context = new KernelContext(this.#table, this.#pool, this.#queue, new PipelineCache(device), new Set(info.features), cpuKernels);
    this.kernels = guardKernels(webgpuKernels(context), () => this.#assertUsable());
    void device.lost.then((lost) => {
      if (this.#disposing) return;
      this.#lost = lost;
      this.#release();
    });
    device.addEventListener('uncapturederror', (event) => {
      this.#validationError ??= (event as GPUUncapturedErrorEvent).error.message;
    });
  }

  get disposed(): boolean {
    return this.#table.closed;
  }

  /** This device's memory traits ({@link webgpuMemoryTraits}): its buffer limits, the budget, kernel scratch. */
  get memoryTraits(): MemoryTraits {
    return webgpuMemoryTraits(this.device.limits, this.maxBytes);
  }

  /** GPU buffers created by the pool and not destroyed (tensors, scratch, uniforms and pooled spares). */
  get gpuBuffers(): number {
    return this.#pool.created;
  }

  /** Bytes of those GPU buffers: what this backend holds on the device, pooled spares included. */
  get gpuBufferBytes(): number {
    return this.#pool.createdBytes;
  }

  /**
   * High-water marks since creation or {@link WebGPUBackend.resetMemoryPeaks}:
   * `bytesInUse`, the most bytes of buffers live at once (tensors, kernel
   * scratch, staging; each in its size bucket), and `bufferBytes`, the
   * most bytes of GPU buffers created, pooled spares included.
   */
  memoryPeaks(): BackendMemoryPeaks {
    this.#assertUsable();
    const { inUse, created } = this.#pool.peaks;
    return { bytesInUse: inUse, bufferBytes: created };
  }

  /** Starts the high-water marks afresh from what is held now. */
  resetMemoryPeaks(): void {
    this.#assertUsable();
    this.#pool.resetPeaks();
  }

  #assertUsable(): void {
    if (this.#lost) {
      throw new LoraFuseError(
        'DEVICE_LOST',
        `The WebGPU device was lost (${this.#lost.reason}: ${this.#lost.message || 'no message'}); create a new backend or fall back to wasm.`,
        { details: { backend: 'webgpu', reason: this.#lost.reason } },
      );
    }
    this.#table.assertOpen();
  }

  upload(tensor: Tensor): DeviceTensor {
    this.#assertUsable();
    const dtype = uploadDType(tensor);
    const bytes = tensorBytes(dtype, tensor.size);
    const buffer = this.#pool.acquire(bytes, TENSOR_USAGE);
    const source = storageBytes(tensor.data);
    if (source.byteLength > 0) {
      // writeBuffer needs a multiple of 4 bytes; u8 and half tensors may end mid-word.
      const padded = source.byteLength === bytes ? source : new Uint8Array(bytes);
      if (padded !== source) padded.set(source);
      this.device.queue.writeBuffer(buffer, 0, padded.buffer, padded.byteOffset, bytes);
    }
    return this.#table.add(tensor.shape, dtype, { buffer, bytes, refs: 1 });
  }

  async read(tensor: DeviceTensor): Promise<Tensor> {
    this.#assertUsable();
    const { buffer, bytes } = this.#table.get(tensor);
    const data = allocStorage<DeviceDType>(tensor.dtype, tensor.size);
    if (bytes === 0) {
      this.#queue.submit();
      return new Tensor<DeviceDType>(tensor.dtype, tensor.shape, data);
    }
    const staging = this.#pool.acquire(bytes, MAP_READ_USAGE);
    this.#queue.copy(buffer, staging, bytes);
    this.#queue.submit();
    try {
      await this.#pacer.wait(this.#queue.takeWorkSignature(), () => staging.mapAsync(MAP_MODE_READ, 0, bytes));
    } catch (cause) {
      this.#assertUsable();
      throw cause;
    }
    const target = storageBytes(data);
    target.set(new Uint8Array(staging.getMappedRange(0, bytes), 0, target.byteLength));
    staging.unmap();
    this.#pool.releaseNow(staging);
    this.#throwValidationError();
    return new Tensor<DeviceDType>(tensor.dtype, tensor.shape, data);
  }

  // A WGSL validation error is a bug of this backend, not of the caller:
  // report it loudly rather than hand back garbage.
  #throwValidationError(): void {
    const message = this.#validationError;
    this.#validationError = undefined;
    if (message !== undefined) throw new Error(`WebGPU backend internal error: ${message}`);
  }

  free(tensor: DeviceTensor): void {
    this.#assertUsable();
    const storage = this.#table.remove(tensor);
    if (--storage.refs === 0) this.#pool.release(storage.buffer);
  }

  async sync(): Promise<void> {
    this.#assertUsable();
    this.#queue.submit();
    await this.#pacer.wait(this.#queue.takeWorkSignature(), () => this.device.queue.onSubmittedWorkDone());
    this.#assertUsable();
    this.#throwValidationError();
  }

  memory(): BackendMemory {
    // Views share their source's buffer: count each once.
    let bytes = 0;
    for (const s of new Set(this.#table.storages())) bytes += s.bytes;
    return { tensors: this.#table.count, bytes };
  }

  async dispose(): Promise<void> {
    if (this.#table.closed) return;
    this.#disposing = true;
    if (!this.#lost) {
      this.#queue.submit();
      await this.device.queue.onSubmittedWorkDone();
    }
    this.#release();
  }

  #release(): void {
    if (this.#table.closed) return;
    this.#table.close();
    this.#pool.destroyAll();
    if (this.#ownsDevice) this.device.destroy();
  }
}

/** Wraps every kernel so that it first checks that the device is still there. */
function guardKernels(kernels: Kernels, check: () => void): Kernels {
  const guarded = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(kernels) as [string, (...args: unknown[]) => unknown][]) {
    guarded[name] = (...args: unknown[]) => {
      check();
      return fn(...args);
    };
  }
  return Object.freeze(guarded) as unknown as Kernels;
}

/**
 * The registry entry of the WebGPU backend (priority
 * {@link BACKEND_PRIORITIES}.webgpu). Creation acquires a device with
 * {@link requestWebGPUDevice} unless `options.handle` provides one, and
 * fails with `BACKEND_INIT_FAILED` when there is none. On a CPU/fallback
 * adapter the backend reports `isFallback`, so `auto` skips it.
 */
export function webgpuBackend(options: WebGPUBackendOptions = {}): BackendFactory {
  return {
    name: 'webgpu',
    priority: BACKEND_PRIORITIES.webgpu,
    create: async () => {
      const [handle, owned] = options.handle ? [options.handle, false] : [await requestWebGPUDevice(options), true];
      return new WebGPUBackend(handle, owned, options.cpuKernels, options.memoryBudget);
    },
  };
}
