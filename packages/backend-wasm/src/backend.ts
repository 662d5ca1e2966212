import {
  BACKEND_PRIORITIES,
  DeviceTensorTable,
  LoraFuseError,
  Tensor,
  bytesPerElement,
  copyStorage,
  storageBytes,
  uploadDType,
  viewStorage,
  type Backend,
  type BackendFactory,
  type BackendMemory,
  type DeviceDType,
  type DeviceTensor,
  type Kernels,
  type Shape,
} from '@lorafuse/core';
import { Arena, WASM32_LIMIT_BYTES } from './arena.js';
import type { WasmContext } from './context.js';
import { wasmKernels } from './kernels/index.js';
import type { KernelExports } from './wasm/exports.js';
import { chooseBuild, instantiateKernels, type SimdBuild } from './wasm/module.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Options of {@link wasmBackend}. */
export interface WasmBackendOptions {
  /** Forces a build: `plain` SIMD128 or `relaxed` SIMD (fused multiply-add). Default: relaxed where the engine validates it. */
  readonly simd?: SimdBuild;
  /**
   * Caps the instance's memory below the 4 GiB wasm32 limit (a browser
   * tab's budget, say); allocations past it throw `OUT_OF_MEMORY`.
   */
  readonly maxBytes?: number;
}

/** Where a device tensor lives in the arena. */
interface Block {
  readonly address: number;
  readonly bytes: number;
}

/**
 * The wasm backend: the kernels compiled from AssemblyScript with SIMD128,
 * one `WebAssembly.Memory` per instance managed by an arena allocator. Kernels
 * run synchronously on the calling thread.
 */
export class WasmBackend implements Backend {
  readonly name = 'wasm';
  readonly isFallback = false;
  readonly description: string;
  readonly kernels: Kernels;
  /** Bytes available for tensors: the 4 GiB wasm32 address space (or the `maxBytes` option) less the module's static data. */
  readonly maxBytes: number;
  /** The build in use. */
  readonly build: SimdBuild;
  /** The instance and its arena; dropped on dispose so the memory can be collected. */
  #live: { readonly exports: KernelExports; readonly arena: Arena } | undefined;
  readonly #table = new DeviceTensorTable<Block>('wasm');

  /** Handles created by the kernel call in progress, freed if it throws. */
  #pending: DeviceTensor[] | undefined;

  private constructor(exports: KernelExports, build: SimdBuild, limit: number) {
    this.#live = { exports, arena: new Arena(exports.memory, exports.heapBase(), limit) };
    this.build = build;
    this.maxBytes = limit - exports.heapBase();
    this.description = `wasm (${build === 'relaxed' ? 'relaxed SIMD' : 'SIMD128'}, 1 thread)`;
    const live = () => this.#open();
    const context: WasmContext = {
      get exports() {
        return live().exports;
      },
      address: (handle) => this.#table.get(handle).address,
      output: (shape, dtype) => this.#allocate(shape, dtype),
      withScratch: (bytes, work) => {
        const { arena } = this.#open();
        const address = arena.alloc(bytes);
        try {
          return work(address);
        } finally {
          arena.free(address, bytes);
        }
      },
    };
    const kernels = wasmKernels(context);
    this.kernels = Object.fromEntries(
      Object.entries(kernels).map(([name, kernel]) => [name, (...args: unknown[]) => this.#transaction(() => (kernel as (...a: unknown[]) => unknown)(...args))]),
    ) as unknown as Kernels;
  }

  /** Instantiates the kernels (a fresh memory) and returns a ready backend. */
  static async create(options: WasmBackendOptions = {}): Promise<WasmBackend> {
    const limit = options.maxBytes ?? WASM32_LIMIT_BYTES;
    if (!Number.isSafeInteger(limit) || limit <= 0) {
      throw new LoraFuseError('INVALID_OPTION', `maxBytes must be a positive integer, got ${String(options.maxBytes)}.`, { details: { option: 'maxBytes', value: options.maxBytes } });
    }
    const build = chooseBuild(options.simd);
    return new WasmBackend(await instantiateKernels(build), build, Math.min(limit, WASM32_LIMIT_BYTES));
  }

  get disposed(): boolean {
    return this.#table.closed;
  }

  /** Bytes the instance's memory has grown to (it never shrinks). */
  get memoryCapacity(): number {
    return this.#live?.arena.capacity ?? 0;
  }

  upload(tensor: Tensor): DeviceTensor {
    const { exports } = this.#open();
    const dtype = uploadDType(tensor);
    const { handle, address } = this.#allocate(tensor.shape, dtype);
    const bytes = storageBytes(tensor.data);
    new Uint8Array(exports.memory.buffer, address, bytes.byteLength).set(bytes);
    return handle;
  }

  async read(tensor: DeviceTensor): Promise<Tensor> {
    return this.readSync(tensor);
  }

  /** {@link WasmBackend.read} without the promise: kernels have already run. Returns a copy. */
  readSync(tensor: DeviceTensor): Tensor {
    const { address, bytes } = this.#table.get(tensor);
    const buffer = this.#open().exports.memory.buffer;
    // WebAssembly memory is little-endian: one slice is the copy on every
    // little-endian host; copyStorage swaps bytes on the others.
    const data = LITTLE_ENDIAN ? viewStorage(tensor.dtype, buffer.slice(address, address + bytes), 0, tensor.size) : copyStorage(tensor.dtype, new Uint8Array(buffer, address, bytes));
    return new Tensor(tensor.dtype, tensor.shape, data);
  }

  free(tensor: DeviceTensor): void {
    const { address, bytes } = this.#table.remove(tensor);
    this.#open().arena.free(address, bytes);
  }

  async sync(): Promise<void> {
    this.#table.assertOpen();
  }

  memory(): BackendMemory {
    let bytes = 0;
    for (const block of this.#table.storages()) bytes += block.bytes;
    return { tensors: this.#table.count, bytes };
  }

  async dispose(): Promise<void> {
    // Dropping the instance lets the engine collect its memory.
    this.#table.close();
    this.#live = undefined;
  }

  /** The live instance; `BACKEND_DISPOSED` after dispose. */
  #open(): { readonly exports: KernelExports; readonly arena: Arena } {
    this.#table.assertOpen();
    return this.#live!;
  }

  #allocate(shape: Shape, dtype: DeviceDType): { handle: DeviceTensor; address: number } {
    const { arena } = this.#open();
    const bytes = shape.reduce((n, d) => n * d, 1) * bytesPerElement(dtype);
    const address = arena.alloc(bytes);
    const handle = this.#table.add(shape, dtype, { address, bytes });
    this.#pending?.push(handle);
    return { handle, address };
  }

  /** Runs one kernel call so that a failure part-way (out of memory for a second output or scratch) frees the outputs it made. */
  #transaction<T>(work: () => T): T {
    this.#pending = [];
    try {
      return work();
    } catch (error) {
      if (!this.#table.closed) for (const handle of this.#pending) this.free(handle);
      throw error;
    } finally {
      this.#pending = undefined;
    }
  }
}

/** The registry entry of the wasm backend (priority {@link BACKEND_PRIORITIES}.wasm). */
export function wasmBackend(options: WasmBackendOptions = {}): BackendFactory {
  return { name: 'wasm', priority: BACKEND_PRIORITIES.wasm, create: () => WasmBackend.create(options) };
}
