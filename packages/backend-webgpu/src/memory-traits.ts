import { loraLinearGeometry, type DeviceTensor, type KernelName, type MemoryTraits } from '@lorafuse/core';
import { bucketSize } from './gpu/buffer-pool.js';

/** The device limits a WebGPU memory plan depends on. */
export interface WebGPUMemoryLimits {
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
}

/**
 * How the WebGPU backend spends memory, for memory plans: buffers in the
 * pool's size buckets, reshapes as views, the scratch buffers of its kernels
 * (the LoRA linear layer's base product and low-rank rows, row statistics),
 * no tensor larger than one storage binding, and `memoryBudget`, when given,
 * as the limit of the whole (WebGPU reports per-buffer limits, not a total).
 */
export function webgpuMemoryTraits(limits: WebGPUMemoryLimits, memoryBudget?: number): MemoryTraits {
  const maxAllocation = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  return {
    name: 'webgpu',
    ...(memoryBudget === undefined ? {} : { limitBytes: memoryBudget, limitReason: 'the memoryBudget option' }),
    maxAllocationBytes: maxAllocation,
    allocationBytes: (bytes) => (bucketSize(bytes) <= maxAllocation ? bucketSize(bytes) : Math.max(16, Math.ceil(bytes / 16) * 16)),
    reshapeIsView: true,
    scratchBytes: (kernel, args) => scratchOf(kernel, args),
  };
}

/** Scratch buffers a kernel call holds, each in its bucket. */
function scratchOf(kernel: KernelName, args: readonly unknown[]): number {
  const t = (i: number) => args[i] as DeviceTensor;
  const rowsOf = (x: DeviceTensor) => x.size / Math.max(1, x.shape[x.shape.length - 1]);
  switch (kernel) {
    case 'loraLinear': {
      const g = loraLinearGeometry(t(0), t(1), t(2), t(3), args[4] as number);
      return bucketSize(4 * g.rows * g.outFeatures) + bucketSize(4 * g.rows * g.rank);
    }
    case 'rmsNormBackward':
    case 'crossEntropy':
      return bucketSize(4 * rowsOf(t(0)));
    case 'attentionBackward': {
      const q = t(0);
      return bucketSize(4 * (q.size / q.shape[3]));
    }
    default:
      return 0;
  }
}
