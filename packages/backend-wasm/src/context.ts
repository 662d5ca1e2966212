import type { DeviceDType, DeviceTensor, Shape } from '@lorafuse/core';
import type { KernelExports, ParallelKernel } from './wasm/exports.js';

/** Dtype codes the kernel module uses for float operands. */
export const FLOAT_CODES = Object.freeze({ f32: 0, f16: 1, bf16: 2 } as Record<DeviceDType, number>);

/**
 * What the kernel wrappers need from their backend: the module's exports,
 * the address of a live handle and arena allocations. Wrappers resolve
 * every input address before allocating, so a bad handle throws before
 * anything is allocated.
 */
export interface WasmContext {
  readonly exports: KernelExports;
  /** Address of a live handle of this backend (`TENSOR_DISPOSED` / `BACKEND_DISPOSED` otherwise). */
  address(handle: DeviceTensor): number;
  /** Allocates a new tensor and returns its handle and address. Its contents are undefined until written. */
  output(shape: Shape, dtype: DeviceDType): { readonly handle: DeviceTensor; readonly address: number };
  /** The first f32 element of a live handle, on the host (a kernel reading a device scalar such as a guard's norm). */
  scalar(handle: DeviceTensor): number;
  /** A new handle of `shape` on the storage of `handle` (a view: the storage is freed with its last handle). */
  view(handle: DeviceTensor, shape: Shape): DeviceTensor;
  /** Frees a temporary tensor this kernel call made with {@link WasmContext.output}. */
  free(handle: DeviceTensor): void;
  /** Runs `work` with `bytes` of scratch, freed afterwards. */
  withScratch<T>(bytes: number, work: (address: number) => T): T;
  /**
   * How many parts to cut `work` (multiply-adds or a comparable count)
   * into: 1 with one thread, else a few per thread, each with at least the
   * backend's `minParallelWork`.
   */
  partsFor(work: number): number;
  /** This thread and the workers: how many run parts at once. */
  readonly threads: number;
  /**
   * Runs `kernel` once per argument list, spread over this thread and the
   * workers, and returns when all are done. The calls must write disjoint
   * memory (each covers its own range of the output, with its own scratch).
   */
  parallel(kernel: ParallelKernel, calls: readonly (readonly number[])[]): void;
}
