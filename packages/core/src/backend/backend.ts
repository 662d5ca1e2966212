import type { Tensor } from '../tensor/index.js';
import type { DeviceTensor } from './device-tensor.js';
import type { Kernels } from './kernels.js';
import type { MemoryTraits } from '../memory/traits.js';

/**
 * A compute backend: owns device memory and implements the {@link Kernels}.
 *
 * Life cycle: a {@link BackendFactory} creates it asynchronously; `upload`
 * moves host tensors in, kernels run synchronously (a GPU backend queues
 * them), `read` brings results back asynchronously, `free` releases one
 * tensor and `dispose` everything. After `dispose` every call throws
 * `BACKEND_DISPOSED`; a backend that loses its device behaves the same way.
 */
export interface Backend {
  /** Registry name (`reference`, `wasm`, `webgpu`, ...). */
  readonly name: string;
  /**
   * True when the backend runs on a CPU/fallback device (a WebGPU adapter on
   * Mesa llvmpipe or SwiftShader): slower than a native CPU backend, so
   * `auto` skips it; it is still used when asked for by name.
   */
  readonly isFallback: boolean;
  /** One line for logs and errors: the adapter, the build, the thread count... */
  readonly description: string;
  /** True once disposed (or once the device is lost). */
  readonly disposed: boolean;
  /** The kernel contract. */
  readonly kernels: Kernels;
  /**
   * Bytes of device memory available for tensors, when the backend knows a
   * limit (a GPU's buffer budget, a wasm memory cap); absent means no known
   * limit. Model loading refuses up front, with `OUT_OF_MEMORY`, weights
   * that exceed it.
   */
  readonly maxBytes?: number;
  /**
   * How this backend spends memory (its limit, allocation rounding, kernel
   * scratch), for {@link planMemory}: `train()` and `adapt()` check their
   * plan against it before the first step. Absent: no check.
   */
  readonly memoryTraits?: MemoryTraits;

  /**
   * Copies a host tensor into device memory. Accepts the device dtypes
   * (f32, f16, bf16, i32, u8); others throw `UNSUPPORTED_DTYPE`. Later
   * changes to the host tensor do not affect the device copy.
   */
  upload(tensor: Tensor): DeviceTensor;

  /**
   * Copies a device tensor back to the host (after every queued kernel that
   * writes it). The value is the one at the time of the call: the tensor may
   * be freed, and more work queued, before the promise settles.
   */
  read(tensor: DeviceTensor): Promise<Tensor>;

  /** Releases a device tensor; the handle is dead afterwards (`TENSOR_DISPOSED`). */
  free(tensor: DeviceTensor): void;

  /** Resolves when every queued kernel has finished (a no-op for synchronous backends). */
  sync(): Promise<void>;

  /** Live tensors and their bytes, for leak checks. */
  memory(): BackendMemory;

  /** High-water marks of the backend's memory since creation or {@link Backend.resetMemoryPeaks}, where it keeps them. */
  memoryPeaks?(): BackendMemoryPeaks;

  /** Starts {@link Backend.memoryPeaks} afresh from what is held now. */
  resetMemoryPeaks?(): void;

  /** Releases all device memory and the device itself. Idempotent. */
  dispose(): Promise<void>;
}

/** What {@link Backend.memory} reports. */
export interface BackendMemory {
  /** Number of live device tensors. */
  readonly tensors: number;
  /** Bytes held by live device tensors. */
  readonly bytes: number;
}

/** What {@link Backend.memoryPeaks} reports. */
export interface BackendMemoryPeaks {
  /** The most bytes held at once by live tensors (and, on wasm, kernel scratch). */
  readonly bytesInUse: number;
  /** wasm: the highest address handed out, which holes between live blocks push above `bytesInUse`. */
  readonly top?: number;
  /** webgpu: the most bytes of GPU buffers created at once, pooled spares included. */
  readonly bufferBytes?: number;
}

/**
 * How a registry creates a backend. `create` does all the asynchronous work
 * (loading WebAssembly, requesting a GPU adapter) and throws when the
 * backend cannot run here.
 */
export interface BackendFactory {
  /** Unique registry name. */
  readonly name: string;
  /** `auto` tries higher priorities first; see {@link BACKEND_PRIORITIES}. */
  readonly priority: number;
  /** Creates and initialises a backend. */
  create(): Promise<Backend>;
}

/** The priorities of the built-in backends: `auto` tries webgpu, then wasm, then reference. */
export const BACKEND_PRIORITIES = Object.freeze({ webgpu: 300, wasm: 200, reference: 100 });
