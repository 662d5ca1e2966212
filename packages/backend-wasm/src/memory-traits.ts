import {
  attentionGeometry,
  crossEntropyGeometry,
  loraLinearGeometry,
  matmulGeometry,
  type DeviceTensor,
  type KernelName,
  type MatmulOptions,
  type MemoryTraits,
} from '@lorafuse/core';
import { blockBytes, WASM32_LIMIT_BYTES } from './arena.js';
import { loraLinearScratchBytes, productLayout, productScratchBytes } from './kernels/linear.js';
import { attentionSplit, rmsNormBlocks } from './kernels/transformer.js';
import { DEFAULT_MIN_PARALLEL_WORK, partCount } from './threads/parts.js';

/**
 * Bytes below the arena a module instance keeps for its static data and
 * stack, when the instance is not at hand to ask ({@link WasmBackend}
 * knows its own): the current build needs about 70 KiB.
 */
const STATIC_BYTES_ESTIMATE = 1 << 20;

/** Options of {@link wasmMemoryTraits}, as the backend's own. */
export interface WasmMemoryTraitsOptions {
  /** Threads the kernels split across (default 1). */
  readonly threads?: number;
  /** The backend's `minParallelWork` (default its default). */
  readonly minParallelWork?: number;
  /** Bytes the arena may use (default the 4 GiB wasm32 space less the module's static data). */
  readonly limitBytes?: number;
}

/**
 * How the wasm backend spends memory, for memory plans: 16-byte blocks in
 * one 4 GiB wasm32 memory, reshapes as views, and the scratch each kernel call
 * allocates (matmul packing, attention panels, float64 partial sums),
 * computed by the same functions the kernels size it with.
 */
export function wasmMemoryTraits(options: WasmMemoryTraitsOptions = {}): MemoryTraits {
  const threads = options.threads ?? 1;
  const minWork = options.minParallelWork ?? DEFAULT_MIN_PARALLEL_WORK;
  const partsFor = (work: number) => partCount(work, threads, minWork);
  return {
    name: 'wasm',
    limitBytes: options.limitBytes ?? WASM32_LIMIT_BYTES - STATIC_BYTES_ESTIMATE,
    limitReason: 'the 4 GiB address space of a wasm32 instance',
    allocationBytes: blockBytes,
    reshapeIsView: true,
    scratchBytes: (kernel, args) => blockBytes(scratchOf(kernel, args, partsFor, threads)),
  };
}

/** Scratch bytes of one kernel call (before the arena's rounding). */
function scratchOf(kernel: KernelName, args: readonly unknown[], partsFor: (work: number) => number, threads: number): number {
  const t = (i: number) => args[i] as DeviceTensor;
  switch (kernel) {
    case 'matmul': {
      const options = (args[2] ?? {}) as MatmulOptions;
      return productScratchBytes(productLayout(matmulGeometry(t(0), t(1), options), !!options.transA, partsFor, threads));
    }
    case 'loraLinear': {
      const g = loraLinearGeometry(t(0), t(1), t(2), t(3), args[4] as number);
      return loraLinearScratchBytes(g.rows, g.inFeatures, g.outFeatures, g.rank, partsFor, threads);
    }
    case 'attention':
    case 'attentionBackward': {
      const options = (args[kernel === 'attention' ? 3 : 6] ?? {}) as Parameters<typeof attentionGeometry>[3];
      const { bytes, ranges } = attentionSplit(kernel, attentionGeometry(t(0), t(1), t(2), options), partsFor);
      return bytes * ranges.length;
    }
    case 'crossEntropy':
      return crossEntropyGeometry(t(0), t(1)).rows * 8;
    case 'rmsNormBackward': {
      const x = t(0);
      const dim = x.shape[x.shape.length - 1];
      return rmsNormBlocks(x.size / Math.max(dim, 1)) * dim * 8;
    }
    case 'columnSumSquares':
      return t(0).shape[t(0).shape.length - 1] * 8;
    case 'loraImportance': {
      const [rank, inFeatures] = t(0).shape;
      return (rank * inFeatures + inFeatures) * 8;
    }
    case 'bottomKMask':
      return t(0).shape[1] * 4;
    case 'permute': {
      // The shape and strides, and each part's odometer (at most one part per element copied).
      const rank = t(0).shape.length;
      return rank * 8 + partsFor(t(0).size * 2) * rank * 4;
    }
    default:
      return 0;
  }
}
