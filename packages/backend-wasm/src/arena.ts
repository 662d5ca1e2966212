import { LoraFuseError } from '@lorafuse/core';

/** WebAssembly pages are 64 KiB. */
export const PAGE = 65_536;
/** wasm32 addresses reach 4 GiB: 65 536 pages. */
export const WASM32_LIMIT_BYTES = 2 ** 32;
/** Blocks are 16-byte aligned so SIMD loads never straddle a cache line needlessly. */
const ALIGN = 16;

/** Bytes the arena takes for a request of `bytes` (whole 16-byte blocks; none for 0). */
export const blockBytes = (bytes: number): number => Math.ceil(bytes / ALIGN) * ALIGN;

interface FreeBlock {
  offset: number;
  size: number;
}

/**
 * The allocator of one backend instance over its own `WebAssembly.Memory`:
 * first-fit over an address-ordered free list with coalescing, then a bump
 * pointer that grows the memory. Freed blocks are reused, so steady-state
 * work (the same kernels on the same shapes) stops growing the memory once
 * warm. Requests that would pass the 4 GiB wasm32 limit throw
 * `OUT_OF_MEMORY` before anything is allocated.
 */
export class Arena {
  readonly #memory: WebAssembly.Memory;
  readonly #base: number;
  /** Address the arena never allocates past. */
  readonly #limit: number;
  /** First byte never handed out. */
  #top: number;
  readonly #free: FreeBlock[] = [];
  #inUse = 0;
  #peakInUse = 0;
  #peakTop: number;

  /**
   * `base` is the first byte the arena may use (above the module's static
   * data); `limit` the address it never passes (at most 4 GiB).
   */
  constructor(memory: WebAssembly.Memory, base: number, limit = WASM32_LIMIT_BYTES) {
    this.#memory = memory;
    this.#base = Math.ceil(base / ALIGN) * ALIGN;
    this.#top = this.#base;
    this.#peakTop = this.#base;
    this.#limit = Math.min(limit, WASM32_LIMIT_BYTES);
  }

  /** Bytes in live blocks (rounded up to the alignment). */
  get bytesInUse(): number {
    return this.#inUse;
  }

  /** The most bytes in live blocks at once since creation or {@link Arena.resetPeaks}. */
  get peakBytesInUse(): number {
    return this.#peakInUse;
  }

  /** The highest address handed out (the end of the highest block) since creation or {@link Arena.resetPeaks}: in-use bytes plus the holes below them. */
  get peakTop(): number {
    return this.#peakTop;
  }

  /** Starts both high-water marks afresh from what is in use now. */
  resetPeaks(): void {
    this.#peakInUse = this.#inUse;
    this.#peakTop = this.#top;
  }

  /** The memory's current buffer (a new object after each grow). */
  get buffer(): ArrayBuffer | SharedArrayBuffer {
    return this.#memory.buffer;
  }

  /** Bytes the memory has grown to. */
  get capacity(): number {
    return this.#memory.buffer.byteLength;
  }

  /** Allocates `bytes` (16-byte aligned) and returns the address; 0 bytes give the arena's base, which must not be written. */
  alloc(bytes: number): number {
    if (bytes === 0) return this.#base;
    const size = blockBytes(bytes);
    const index = this.#free.findIndex((b) => b.size >= size);
    let offset: number;
    if (index >= 0) {
      const block = this.#free[index];
      offset = block.offset;
      if (block.size === size) this.#free.splice(index, 1);
      else {
        block.offset += size;
        block.size -= size;
      }
    } else {
      offset = this.#top;
      this.#ensure(offset + size, bytes);
      this.#top = offset + size;
      this.#peakTop = Math.max(this.#peakTop, this.#top);
    }
    this.#inUse += size;
    this.#peakInUse = Math.max(this.#peakInUse, this.#inUse);
    return offset;
  }

  /** Returns a block of `bytes` at `offset` (as allocated) to the free list. */
  free(offset: number, bytes: number): void {
    if (bytes === 0) return;
    const size = blockBytes(bytes);
    this.#inUse -= size;
    let lo = 0;
    let hi = this.#free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#free[mid].offset < offset) lo = mid + 1;
      else hi = mid;
    }
    this.#free.splice(lo, 0, { offset, size });
    // Coalesce with the following, then the preceding block.
    const next = this.#free[lo + 1];
    if (next && offset + size === next.offset) {
      this.#free[lo].size += next.size;
      this.#free.splice(lo + 1, 1);
    }
    const prev = this.#free[lo - 1];
    if (prev && prev.offset + prev.size === offset) {
      prev.size += this.#free[lo].size;
      this.#free.splice(lo, 1);
      lo--;
    }
    // A free block that ends at the top goes back to the bump pointer.
    const last = this.#free[this.#free.length - 1];
    if (last && last.offset + last.size === this.#top) {
      this.#top = last.offset;
      this.#free.pop();
    }
  }

  /** Grows the memory to hold `end` bytes, at least doubling to keep grows rare. */
  #ensure(end: number, requested: number): void {
    if (end > this.#limit) {
      const what = this.#limit === WASM32_LIMIT_BYTES ? 'the 4 GiB wasm32 limit of one instance' : `its limit of ${this.#limit} bytes`;
      throw new LoraFuseError(
        'OUT_OF_MEMORY',
        `The wasm backend cannot allocate ${requested} bytes: with ${this.#inUse} bytes in use it would pass ${what}. Free tensors, store base weights as f16/bf16, or use a smaller model.`,
        { details: { requested, inUse: this.#inUse, limit: this.#limit } },
      );
    }
    const current = this.#memory.buffer.byteLength;
    if (end <= current) return;
    const maxPages = WASM32_LIMIT_BYTES / PAGE;
    const currentPages = current / PAGE;
    const needed = Math.ceil(end / PAGE) - currentPages;
    const pages = Math.min(Math.max(needed, currentPages), maxPages - currentPages);
    try {
      this.#memory.grow(pages);
    } catch (cause) {
      try {
        this.#memory.grow(needed);
      } catch {
        throw new LoraFuseError('OUT_OF_MEMORY', `The wasm backend could not grow its memory to ${end} bytes: the engine refused (${String(cause)}).`, {
          details: { requested, inUse: this.#inUse },
          cause,
        });
      }
    }
  }
}
