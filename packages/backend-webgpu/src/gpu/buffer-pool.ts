/// <reference types="@webgpu/types" />
import { LoraFuseError } from '@lorafuse/core';

const STORAGE = 0x80;

/**
 * The byte size a request is served with: powers of two up to 1 MiB, then
 * eight sizes per octave, so that buffers of nearly the same size share a
 * bucket and the padding stays under 12.5 % for large tensors.
 */
export function bucketSize(bytes: number): number {
  const wanted = Math.max(16, Math.ceil(bytes / 16) * 16);
  const octave = 2 ** Math.ceil(Math.log2(wanted));
  if (octave <= 1 << 20) return octave;
  const step = octave / 16;
  return Math.ceil(wanted / step) * step;
}

/**
 * Reuses GPU buffers by size bucket and usage. A released buffer may still be
 * read or written by work encoded but not yet submitted, so `release` parks it
 * until {@link BufferPool.recycle} is called after the next submission; queue
 * order then guarantees that a later `writeBuffer` cannot overtake that work.
 */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #free = new Map<string, GPUBuffer[]>();
  #parked: GPUBuffer[] = [];
  #all = new Set<GPUBuffer>();
  /**
   * Free-list key (usage and size) and creation rank of every buffer: the
   * rank is the canonical order of the free lists. Kept here because reading
   * `usage` and `size` back from a buffer is a call into the native binding.
   */
  readonly #meta = new Map<GPUBuffer, { readonly key: string; readonly rank: number; readonly size: number }>();
  #created = 0;
  /** Bytes of buffers handed out and not released, and the high-water marks. */
  #inUse = 0;
  #peakInUse = 0;
  #createdBytes = 0;
  #peakCreated = 0;

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Number of buffers this pool has created and not destroyed. */
  get created(): number {
    return this.#all.size;
  }

  /** Bytes of the buffers this pool has created and not destroyed (in use, parked or free): its GPU memory footprint. */
  get createdBytes(): number {
    return this.#createdBytes;
  }

  /** The most bytes of buffers handed out and not yet released at once, and of buffers created, since creation or {@link BufferPool.resetPeaks}. */
  get peaks(): { readonly inUse: number; readonly created: number } {
    return { inUse: this.#peakInUse, created: this.#peakCreated };
  }

  /** Starts the high-water marks afresh from now. */
  resetPeaks(): void {
    this.#peakInUse = this.#inUse;
    this.#peakCreated = this.#createdBytes;
  }

  #handOut(buffer: GPUBuffer): GPUBuffer {
    this.#inUse += this.#meta.get(buffer)!.size;
    this.#peakInUse = Math.max(this.#peakInUse, this.#inUse);
    return buffer;
  }

  /** A buffer of at least `bytes` bytes with exactly `usage`; `OUT_OF_MEMORY` beyond the device's limits. */
  acquire(bytes: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const limit = usage & STORAGE ? this.#device.limits.maxStorageBufferBindingSize : this.#device.limits.maxBufferSize;
    // Near the limit the exact size is used rather than a bucket above it.
    const exact = Math.max(16, Math.ceil(bytes / 16) * 16);
    const size = bucketSize(bytes) <= limit ? bucketSize(bytes) : exact;
    const key = `${usage}:${size}`;
    const list = this.#free.get(key);
    const reused = list?.pop();
    if (reused) return this.#handOut(reused);
    if (size > limit) {
      throw new LoraFuseError(
        'OUT_OF_MEMORY',
        `A tensor of ${bytes} bytes exceeds this WebGPU device's buffer limit of ${limit} bytes; split it or use the wasm backend.`,
        {
          details: { backend: 'webgpu', bytes, limit },
        },
      );
    }
    const buffer = this.#device.createBuffer({ size, usage, label: `lorafuse pool ${size}` });
    this.#all.add(buffer);
    this.#meta.set(buffer, { key, rank: this.#created++, size });
    this.#createdBytes += size;
    this.#peakCreated = Math.max(this.#peakCreated, this.#createdBytes);
    return this.#handOut(buffer);
  }

  /** Returns a buffer; it becomes reusable after the next {@link BufferPool.recycle}. */
  release(buffer: GPUBuffer): void {
    this.#inUse -= this.#meta.get(buffer)?.size ?? 0;
    this.#parked.push(buffer);
  }

  /** Returns a buffer that no queued or pending work uses, for immediate reuse. */
  releaseNow(buffer: GPUBuffer): void {
    const meta = this.#meta.get(buffer);
    // A buffer of an earlier life of the pool (before destroyAll) is gone.
    if (!meta) return;
    this.#inUse -= meta.size;
    this.#park(buffer, meta);
  }

  /** Puts a released buffer on its free list. */
  #park(buffer: GPUBuffer, meta: { readonly key: string }): void {
    const list = this.#free.get(meta.key);
    if (list) list.push(buffer);
    else this.#free.set(meta.key, [buffer]);
  }

  /**
   * Makes every parked buffer reusable: call right after submitting the work
   * that used them. The free lists it touches are put back in creation
   * order, so that which buffer a request gets depends only on which are
   * free, not on the order they were freed in: a steady loop then binds the
   * same buffers to the same kernels every step, and its bind groups can be
   * reused.
   */
  recycle(): void {
    const parked = this.#parked;
    this.#parked = [];
    const touched = new Set<GPUBuffer[]>();
    for (const buffer of parked) {
      const meta = this.#meta.get(buffer);
      if (!meta) continue;
      this.#park(buffer, meta);
      touched.add(this.#free.get(meta.key)!);
    }
    // Descending, so that pop() hands out the oldest buffer first.
    for (const list of touched) list.sort((a, b) => this.#meta.get(b)!.rank - this.#meta.get(a)!.rank);
  }

  /** Destroys every buffer the pool created, in use or not. */
  destroyAll(): void {
    for (const buffer of this.#all) buffer.destroy();
    this.#all = new Set();
    this.#createdBytes = 0;
    this.#inUse = 0;
    this.#meta.clear();
    this.#free.clear();
    this.#parked = [];
  }
}
