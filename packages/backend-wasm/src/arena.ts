import { LoraFuseError } from '@lorafuse/core';

/** WebAssembly pages are 64 KiB. */
export const PAGE = 65_536;
/** wasm32 addresses reach 4 GiB: 65 536 pages. */
export const WASM32_LIMIT_BYTES = 2 ** 32;
/** Blocks are 16-byte aligned so SIMD loads never straddle a cache line needlessly. */
const ALIGN = 16;
/**
 * Free bytes in holes below the top from which a request that would raise
 * the top compacts instead (when the owner can move its blocks). Below it,
 * moving every block above the first hole costs more than the holes do.
 */
export const COMPACT_SLACK_BYTES = 64 * 2 ** 20;
/** Least growth of the memory, so that many small requests grow it rarely. */
const MIN_GROWTH_BYTES = 2 ** 20;

/** Bytes the arena takes for a request of `bytes` (whole 16-byte blocks; none for 0). */
export const blockBytes = (bytes: number): number => Math.ceil(bytes / ALIGN) * ALIGN;

interface FreeBlock {
  offset: number;
  size: number;
}

/** A live block its owner can move: where it is now, and its size as requested. */
export interface MovableBlock {
  address: number;
  readonly bytes: number;
}

/**
 * Moves live blocks to close the holes between them: the owner of the
 * blocks knows which are live and updates its references; called by
 * {@link Arena.alloc} when a request would raise the top while holes of at
 * least {@link COMPACT_SLACK_BYTES} lie below it. Returns whether it
 * compacted (it may decline, e.g. inside a kernel call whose addresses are
 * in use; it may also throw to retry the call later).
 */
export type Compactor = () => boolean;

/**
 * The allocator of one backend instance over its own `WebAssembly.Memory`:
 * first-fit over an address-ordered free list with coalescing, then a bump
 * pointer that grows the memory. Freed blocks are reused, so steady-state
 * work (the same kernels on the same shapes) stops growing the memory once
 * warm. A request that fits no hole and would raise the top while the holes
 * hold {@link COMPACT_SLACK_BYTES} or more first asks the owner's
 * {@link Compactor} to slide the live blocks down ({@link Arena.compact}):
 * the top then stays within the slack of the bytes in use instead of
 * stranding the holes that large, short-lived tensors leave. Requests that
 * would pass the 4 GiB wasm32 limit throw `OUT_OF_MEMORY` before anything
 * is allocated.
 */
export class Arena {
  readonly #memory: WebAssembly.Memory;
  readonly #base: number;
  /** Address the arena never allocates past. */
  readonly #limit: number;
  /** First byte never handed out. */
  #top: number;
  #free: FreeBlock[] = [];
  /** Bytes in {@link Arena.#free}. */
  #holes = 0;
  #inUse = 0;
  #peakInUse = 0;
  #peakTop: number;
  #compactions = 0;
  /** Set by the owner: moves its live blocks down ({@link Arena.compact}). */
  compactor: Compactor | undefined;

  /**
   * `base` is the first byte the arena may use (above the module's static
   * data); `limit` the address it never passes (at most 4 GiB).
   */
  constructor(memory: WebAssembly.Memory, base: number, limit = WASM32_LIMIT_BYTES) {
    this.#memory = memory;
    this.#base = blockBytes(base);
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

  /** How many times the live blocks were slid down. */
  get compactions(): number {
    return this.#compactions;
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
    let index = this.#free.findIndex((b) => b.size >= size);
    // Raising the top over enough holes, or past the limit over any: close them first if the owner can.
    if (index < 0 && this.#holes > 0 && (this.#holes >= COMPACT_SLACK_BYTES || this.#top + size > this.#limit) && this.compactor?.()) {
      index = this.#free.findIndex((b) => b.size >= size);
    }
    let offset: number;
    if (index >= 0) {
      const block = this.#free[index];
      offset = block.offset;
      if (block.size === size) this.#free.splice(index, 1);
      else {
        block.offset += size;
        block.size -= size;
      }
      this.#holes -= size;
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
    this.#holes += size;
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
      this.#holes -= last.size;
      this.#free.pop();
    }
  }

  /**
   * Slides every live block down over the holes, in address order (a
   * block moves only to a lower address, so copies never overwrite a block
   * not yet moved), updating each block's address; afterwards no hole is
   * left and the top is the base plus the bytes in use. `live` must be
   * every live block of this arena.
   */
  compact(live: Iterable<MovableBlock>): void {
    const blocks = [...live].filter((b) => b.bytes > 0).sort((a, b) => a.address - b.address);
    const memory = new Uint8Array(this.#memory.buffer);
    let cursor = this.#base;
    for (const block of blocks) {
      const size = blockBytes(block.bytes);
      if (block.address !== cursor) {
        memory.copyWithin(cursor, block.address, block.address + size);
        block.address = cursor;
      }
      cursor += size;
    }
    this.#free = [];
    this.#holes = 0;
    this.#top = cursor;
    this.#compactions++;
  }

  /** Grows the memory to hold `end` bytes: by what is needed, at least a quarter of the memory (or 1 MiB), so that growth stays rare without reserving much more than the top. */
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
    const pages = Math.min(Math.max(needed, Math.ceil(currentPages / 4), MIN_GROWTH_BYTES / PAGE), maxPages - currentPages);
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
