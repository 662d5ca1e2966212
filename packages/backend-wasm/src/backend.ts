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
  type BackendMemoryPeaks,
  type DeviceDType,
  type DeviceTensor,
  type Kernels,
  type MemoryTraits,
  type Shape,
} from '@lorafuse/core';
import { Arena, PAGE, WASM32_LIMIT_BYTES } from './arena.js';
import type { WasmContext } from './context.js';
import { wasmMemoryTraits } from './memory-traits.js';
import { wasmKernels } from './kernels/index.js';
import { DEFAULT_MIN_PARALLEL_WORK, partCount } from './threads/parts.js';
import { planThreads } from './threads/count.js';
import { ThreadPool, type ThreadUse } from './threads/pool.js';
import { PARALLEL_KERNELS, type KernelExports } from './wasm/exports.js';
import { chooseBuild, compileKernels, instantiateKernels, type SimdBuild } from './wasm/module.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Whether `buffer` is shared memory (`SharedArrayBuffer` is not even defined on pages without cross-origin isolation). */
const isShared = (buffer: ArrayBufferLike): boolean => typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer;

/** Options of {@link wasmBackend}. */
export interface WasmBackendOptions {
  /** Forces a build: `plain` SIMD128 or `relaxed` SIMD (fused multiply-add). Default: relaxed where the engine validates it. */
  readonly simd?: SimdBuild;
  /**
   * Caps the instance's memory below the 4 GiB wasm32 limit (a browser
   * tab's budget, say); allocations past it throw `OUT_OF_MEMORY`.
   */
  readonly maxBytes?: number;
  /**
   * Threads the kernels split across: this thread plus `threads - 1`
   * workers (`worker_threads` in Node, Web Workers in browsers) sharing one
   * `WebAssembly.Memory`. Default: the available cores (at most 8) where
   * shared memory is allowed, else 1. More than 1 where it is not (a page
   * without cross-origin isolation) throws `BACKEND_INIT_FAILED`. Results
   * are bit-identical for every thread count.
   */
  readonly threads?: number;
  /**
   * Work (multiply-adds, or a comparable count for attention and the
   * streaming kernels: a float added or copied counts a few, an exp a
   * dozen) each part of a split kernel call gets at least: smaller calls
   * are cut into fewer parts, down to one (no split). Default 1 048 576;
   * 0 splits every call (for tests).
   */
  readonly minParallelWork?: number;
}

/** What a live backend holds: the instance, its arena and, with threads, the worker pool. */
interface Live {
  readonly exports: KernelExports;
  readonly arena: Arena;
  readonly pool?: ThreadPool;
}

/** Where a device tensor lives in the arena (compaction moves it); views share their source's block. */
interface Block {
  address: number;
  readonly bytes: number;
  /** Live handles on this block: it returns to the arena with the last. */
  refs: number;
}

/** Thrown through a kernel call whose allocation wants the arena compacted: the call is undone, the arena compacted, and the call run again. */
const COMPACT_AND_RETRY = Symbol('compact and retry');

/**
 * The wasm backend: the kernels compiled from AssemblyScript with SIMD128,
 * one `WebAssembly.Memory` per instance managed by an arena allocator.
 * Kernels are synchronous: with threads, the calling thread does its share
 * of a matmul or attention call and blocks until the workers finish theirs
 * (`Atomics.wait`; on a browser window's main thread, which may not block,
 * it spins instead, so run the SDK in a Web Worker there).
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
  /** Threads the kernels split across (1: no workers). */
  readonly threads: number;
  /** The instance, its arena and workers; dropped on dispose so the memory can be collected. */
  #live: Live | undefined;
  readonly #table = new DeviceTensorTable<Block>('wasm');
  readonly #minParallelWork: number;

  /** Handles created by the kernel call in progress, freed if it throws; set while a kernel runs. */
  #pending: DeviceTensor[] | undefined;

  private constructor(
    exports: KernelExports,
    memory: WebAssembly.Memory,
    build: SimdBuild,
    limit: number,
    pool: ThreadPool | undefined,
    minParallelWork: number,
  ) {
    const arena = new Arena(memory, exports.heapBase(), limit);
    // Blocks move only between kernel calls, when no address is held: inside one, the call is undone and rerun after compacting.
    arena.compactor = () => {
      if (this.#pending) throw COMPACT_AND_RETRY;
      arena.compact(this.#blocks());
      return true;
    };
    this.#live = { exports, arena, ...(pool ? { pool } : {}) };
    this.build = build;
    this.threads = (pool?.size ?? 0) + 1;
    this.#minParallelWork = minParallelWork;
    this.maxBytes = limit - exports.heapBase();
    this.description = `wasm (${build === 'relaxed' ? 'relaxed SIMD' : 'SIMD128'}, ${this.threads === 1 ? '1 thread' : `${this.threads} threads`})`;
    const live = () => this.#open();
    const threads = this.threads;
    const context: WasmContext = {
      get exports() {
        return live().exports;
      },
      partsFor: (work) => partCount(work, threads, minParallelWork),
      threads,
      parallel: (kernel, calls) => {
        const { exports: kernels, pool: workers } = this.#open();
        const run = (call: readonly number[]) => (kernels[kernel] as (...args: readonly number[]) => void)(...call);
        if (workers && calls.length > 1) workers.run(kernel, calls, run);
        else for (const call of calls) run(call);
      },
      address: (handle) => this.#table.get(handle).address,
      view: (handle, shape) => {
        const block = this.#table.get(handle);
        block.refs++;
        const view = this.#table.add(shape, handle.dtype, block);
        this.#pending?.push(view);
        return view;
      },
      output: (shape, dtype) => this.#allocate(shape, dtype),
      scalar: (handle) => new DataView(this.#open().arena.buffer).getFloat32(this.#table.get(handle).address, true),
      free: (handle) => {
        // Freed now, so no longer the transaction's to free on failure.
        const index = this.#pending?.indexOf(handle) ?? -1;
        if (index >= 0) this.#pending!.splice(index, 1);
        this.free(handle);
      },
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
      Object.entries(kernels).map(([name, kernel]) => [
        name,
        (...args: unknown[]) => this.#transaction(() => (kernel as (...a: unknown[]) => unknown)(...args)),
      ]),
    ) as unknown as Kernels;
  }

  /** Instantiates the kernels (a fresh memory), starts the workers when threaded and returns a ready backend. */
  static async create(options: WasmBackendOptions = {}): Promise<WasmBackend> {
    const limit = Math.min(options.maxBytes ?? WASM32_LIMIT_BYTES, WASM32_LIMIT_BYTES);
    if (!Number.isSafeInteger(limit) || limit <= 0) {
      throw new LoraFuseError('INVALID_OPTION', `maxBytes must be a positive integer, got ${String(options.maxBytes)}.`, {
        details: { option: 'maxBytes', value: options.maxBytes },
      });
    }
    const minParallelWork = options.minParallelWork ?? DEFAULT_MIN_PARALLEL_WORK;
    if (!(minParallelWork >= 0)) {
      throw new LoraFuseError('INVALID_OPTION', `minParallelWork must be a number ≥ 0, got ${String(options.minParallelWork)}.`, {
        details: { option: 'minParallelWork', value: options.minParallelWork },
      });
    }
    const build = chooseBuild(options.simd);
    const plan = await planThreads(options.threads);
    if (!plan.host) {
      const exports = await instantiateKernels(await compileKernels(build, false));
      return new WasmBackend(exports, exports.memory, build, limit, undefined, minParallelWork);
    }
    // Shared memories must declare their maximum; the engine reserves it up front.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: Math.ceil(limit / PAGE), shared: true });
    const module = await compileKernels(build, true);
    const exports = await instantiateKernels(module, memory);
    const pool = await ThreadPool.start(plan.host, module, memory, PARALLEL_KERNELS, plan.threads - 1);
    return new WasmBackend(exports, memory, build, limit, pool, minParallelWork);
  }

  get disposed(): boolean {
    return this.#table.closed;
  }

  /** This instance's memory traits ({@link wasmMemoryTraits}): its limit, thread count and kernel scratch. */
  get memoryTraits(): MemoryTraits {
    return wasmMemoryTraits({ threads: this.threads, minParallelWork: this.#minParallelWork, limitBytes: this.maxBytes });
  }

  /**
   * How many parts of split kernel calls the calling thread and the workers
   * have run so far. Workers that get few parts (they wait for a core on a
   * busy machine) bring little. Zeros with 1 thread.
   */
  get threadUse(): ThreadUse {
    return this.#live?.pool?.use ?? { byCaller: 0, byWorkers: 0 };
  }

  /** Bytes the instance's memory has grown to (it never shrinks). */
  get memoryCapacity(): number {
    return this.#live?.arena.capacity ?? 0;
  }

  /**
   * High-water marks since creation or {@link WasmBackend.resetMemoryPeaks}:
   * the most bytes in use at once (tensors and kernel scratch) and `top`,
   * the highest address handed out (the memory the instance spans, holes
   * between blocks included).
   */
  memoryPeaks(): BackendMemoryPeaks {
    const { arena } = this.#open();
    return { bytesInUse: arena.peakBytesInUse, top: arena.peakTop };
  }

  /** Starts the high-water marks afresh from what is in use now. */
  resetMemoryPeaks(): void {
    this.#open().arena.resetPeaks();
  }

  upload(tensor: Tensor): DeviceTensor {
    const dtype = uploadDType(tensor);
    const { handle, address } = this.#allocate(tensor.shape, dtype);
    const bytes = storageBytes(tensor.data);
    new Uint8Array(this.#open().arena.buffer, address, bytes.byteLength).set(bytes);
    return handle;
  }

  async read(tensor: DeviceTensor): Promise<Tensor> {
    return this.readSync(tensor);
  }

  /** {@link WasmBackend.read} without the promise: kernels have already run. Returns a copy. */
  readSync(tensor: DeviceTensor): Tensor {
    const { address, bytes } = this.#table.get(tensor);
    const buffer = this.#open().arena.buffer;
    // WebAssembly memory is little-endian: one slice is the copy on every
    // little-endian host; copyStorage swaps bytes on the others. A slice of
    // shared memory would be shared too, so host tensors get a plain copy.
    const data =
      LITTLE_ENDIAN && !isShared(buffer)
        ? viewStorage(tensor.dtype, buffer.slice(address, address + bytes), 0, tensor.size)
        : copyStorage(tensor.dtype, new Uint8Array(buffer, address, bytes));
    return new Tensor(tensor.dtype, tensor.shape, data);
  }

  free(tensor: DeviceTensor): void {
    const block = this.#table.remove(tensor);
    if (--block.refs > 0) return;
    const { address, bytes } = block;
    this.#open().arena.free(address, bytes);
  }

  async sync(): Promise<void> {
    this.#table.assertOpen();
  }

  memory(): BackendMemory {
    let bytes = 0;
    for (const block of this.#blocks()) bytes += block.bytes;
    return { tensors: this.#table.count, bytes };
  }

  async dispose(): Promise<void> {
    // Dropping the instance lets the engine collect its memory once the
    // workers, which hold it too, are gone.
    const pool = this.#live?.pool;
    this.#table.close();
    this.#live = undefined;
    await pool?.close();
  }

  /** Every live block once (views share their source's). */
  #blocks(): Set<Block> {
    return new Set(this.#table.storages());
  }

  /** The live instance; `BACKEND_DISPOSED` after dispose. */
  #open(): Live {
    this.#table.assertOpen();
    return this.#live!;
  }

  #allocate(shape: Shape, dtype: DeviceDType): { handle: DeviceTensor; address: number } {
    const { arena } = this.#open();
    const bytes = shape.reduce((n, d) => n * d, 1) * bytesPerElement(dtype);
    const address = arena.alloc(bytes);
    const handle = this.#table.add(shape, dtype, { address, bytes, refs: 1 });
    this.#pending?.push(handle);
    return { handle, address };
  }

  /**
   * Runs one kernel call so that a failure part-way (out of memory for a
   * second output or scratch) frees the outputs it made. A call whose
   * allocation wants the arena compacted is undone (kernels are out of
   * place), the arena compacted, and the call run once more without
   * compaction.
   */
  #transaction<T>(work: () => T): T {
    try {
      return this.#attempt(work);
    } catch (error) {
      if (error !== COMPACT_AND_RETRY) throw error;
      const { arena } = this.#open();
      arena.compact(this.#blocks());
      const compactor = arena.compactor;
      arena.compactor = undefined;
      try {
        return this.#attempt(work);
      } finally {
        arena.compactor = compactor;
      }
    }
  }

  #attempt<T>(work: () => T): T {
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
