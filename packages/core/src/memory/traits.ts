import type { KernelName } from '../backend/kernels.js';

/**
 * How a backend spends memory, as {@link planMemory} models it: its limit,
 * how it rounds allocations, what scratch its kernels hold while they run
 * and whether a reshape shares its input's storage. Each backend package
 * describes itself (`wasmMemoryTraits`, `webgpuMemoryTraits`); a
 * {@link Backend} instance hands its own through {@link Backend.memoryTraits}.
 */
export interface MemoryTraits {
  /** The backend's name (`wasm`, `webgpu`, `reference`). */
  readonly name: string;
  /** Most bytes of tensors and scratch the backend can hold at once, when it has a limit. */
  readonly limitBytes?: number;
  /** Why {@link MemoryTraits.limitBytes} is what it is, for messages (e.g. "the 4 GiB wasm32 address space"). */
  readonly limitReason?: string;
  /** Most bytes one tensor may take (a GPU's buffer or binding limit), when there is such a limit. */
  readonly maxAllocationBytes?: number;
  /** Bytes an allocation of `bytes` takes (alignment, size buckets). */
  allocationBytes(bytes: number): number;
  /** Scratch bytes a kernel call with these arguments holds while it runs, beyond its inputs and outputs. */
  scratchBytes(kernel: KernelName, args: readonly unknown[]): number;
  /** True when `reshape` returns a view sharing its input's storage instead of a copy. */
  readonly reshapeIsView: boolean;
}

/** The reference backend's traits: exact sizes, no scratch, no limit (host memory), reshapes as views. */
export const REFERENCE_MEMORY_TRAITS: MemoryTraits = Object.freeze({
  name: 'reference',
  allocationBytes: (bytes: number) => bytes,
  scratchBytes: () => 0,
  reshapeIsView: true,
});
