/// <reference types="@webgpu/types" />
import type { DeviceDType, DeviceTensor, DeviceTensorTable, Shape } from '@lorafuse/core';
import { shapeSize } from '@lorafuse/core';
import type { BufferPool } from '../gpu/buffer-pool.js';
import type { CommandQueue } from '../gpu/command-queue.js';
import type { PipelineCache } from '../gpu/pipeline-cache.js';

/** What the backend keeps per device tensor. */
export interface GpuStorage {
  readonly buffer: GPUBuffer;
  /** Bytes of the tensor's data (the buffer may be larger). */
  readonly bytes: number;
  /** Live handles on the buffer (views share it): it returns to the pool with the last. */
  refs: number;
}

/** Usage of every tensor buffer: bound to kernels, copied in and out. */
export const TENSOR_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/** Bytes of `size` elements of `dtype`, rounded up to whole u32 words (sub-word types are packed). */
export function tensorBytes(dtype: DeviceDType, size: number): number {
  const bytes = dtype === 'u8' ? size : dtype === 'f16' || dtype === 'bf16' ? 2 * size : 4 * size;
  return Math.ceil(bytes / 4) * 4;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** A uniform value: an integer (u32, or i32 when negative) or an f32 marked with {@link f32}. */
export type UniformValue = number | { readonly f32: number };

/** Marks a uniform value as f32. */
export const f32 = (value: number): UniformValue => ({ f32: value });

/** Packs uniform values into u32 words, padded to 16 bytes as uniform buffers require. */
function uniformWords(values: readonly UniformValue[]): Uint32Array {
  const words = new Uint32Array(Math.max(4, Math.ceil(values.length / 4) * 4));
  values.forEach((v, i) => {
    if (typeof v === 'number') words[i] = v >>> 0;
    else {
      f32Scratch[0] = v.f32;
      words[i] = u32Scratch[0];
    }
  });
  return words;
}

/** Threads per workgroup of the one-dimensional kernels. */
const WORKGROUP = 256;

/**
 * What a WGSL kernel needs from the backend: the buffers behind handles,
 * fresh outputs and scratch space from the pool, and dispatches.
 */
export class KernelContext {
  constructor(
    private readonly table: DeviceTensorTable<GpuStorage>,
    private readonly pool: BufferPool,
    private readonly queue: CommandQueue,
    private readonly pipelines: PipelineCache,
    /** Optional device features the kernels may use. */
    readonly features: ReadonlySet<string>,
    /**
     * Take the kernel variants for CPU adapters (lavapipe, SwiftShader):
     * without workgroup memory and barriers, which such adapters run as slow
     * coroutine switches, while their caches already do what shared memory
     * does on a GPU.
     */
    readonly cpuKernels = false,
  ) {}

  /** The buffer of a live handle (`TENSOR_DISPOSED` / `BACKEND_DISPOSED` otherwise). */
  buffer(handle: DeviceTensor): GPUBuffer {
    return this.table.get(handle).buffer;
  }

  /** A new device tensor backed by a pooled buffer. */
  output(shape: Shape, dtype: DeviceDType): [DeviceTensor, GPUBuffer] {
    const bytes = tensorBytes(dtype, shapeSize(shape));
    const buffer = this.pool.acquire(bytes, TENSOR_USAGE);
    return [this.table.add(shape, dtype, { buffer, bytes, refs: 1 }), buffer];
  }

  /** A new handle of `shape` on the buffer of `handle` (a view: the buffer is released with its last handle). */
  view(handle: DeviceTensor, shape: Shape): DeviceTensor {
    const storage = this.table.get(handle);
    storage.refs++;
    return this.table.add(shape, handle.dtype, storage);
  }

  /** A pooled storage buffer for intermediate results; give it back with {@link KernelContext.drop}. */
  scratch(bytes: number): GPUBuffer {
    return this.pool.acquire(bytes, TENSOR_USAGE);
  }

  /** Returns a scratch buffer once the work using it is encoded. */
  drop(buffer: GPUBuffer): void {
    this.pool.release(buffer);
  }

  /** Encodes a dispatch of `code` over `workgroups` workgroups. */
  run(
    code: string,
    buffers: readonly GPUBuffer[],
    uniforms: readonly UniformValue[] | undefined,
    workgroups: number | readonly [number, number, number],
  ): void {
    this.queue.dispatch({ pipeline: this.pipelines.get(code), buffers, uniforms: uniforms && uniformWords(uniforms), workgroups });
  }

  /** Encodes a copy of `bytes` (a multiple of 4) from the start of `source` to the start of `target`. */
  copy(source: GPUBuffer, target: GPUBuffer, bytes: number): void {
    this.queue.copy(source, target, bytes);
  }
}

/** Workgroups needed for `count` threads at {@link WORKGROUP} per group. */
export const groupsFor = (count: number, perGroup = WORKGROUP): number => Math.ceil(count / perGroup);
