import { isLoraFuseError } from '@lorafuse/core';
import { describe, expect, it } from 'vitest';
import { Arena, WASM32_LIMIT_BYTES } from '../src/arena.js';

const fresh = () => new Arena(new WebAssembly.Memory({ initial: 1, maximum: 65536 }), 1000);

describe('Arena', () => {
  it('hands out 16-byte aligned, non-overlapping blocks above the base', () => {
    const arena = fresh();
    const a = arena.alloc(10);
    const b = arena.alloc(33);
    const c = arena.alloc(1);
    expect([a, b, c].every((p) => p % 16 === 0 && p >= 1000)).toBe(true);
    expect(b).toBeGreaterThanOrEqual(a + 16);
    expect(c).toBeGreaterThanOrEqual(b + 48);
    expect(arena.bytesInUse).toBe(16 + 48 + 16);
  });

  it('reuses freed blocks and coalesces neighbours', () => {
    const arena = fresh();
    const a = arena.alloc(64);
    const b = arena.alloc(64);
    const guard = arena.alloc(16);
    arena.free(a, 64);
    arena.free(b, 64);
    // a and b merged into one 128-byte block at a.
    expect(arena.alloc(128)).toBe(a);
    arena.free(guard, 16);
    expect(arena.bytesInUse).toBe(128);
  });

  it('grows the memory when needed and gives the top back on free', () => {
    const arena = fresh();
    const big = arena.alloc(200_000);
    expect(arena.capacity).toBeGreaterThanOrEqual(big + 200_000);
    arena.free(big, 200_000);
    expect(arena.alloc(200_000)).toBe(big);
  });

  it('refuses past the 4 GiB wasm32 limit with OUT_OF_MEMORY before allocating', () => {
    const arena = fresh();
    const before = arena.capacity;
    let error: unknown;
    try {
      arena.alloc(WASM32_LIMIT_BYTES);
    } catch (e) {
      error = e;
    }
    expect(isLoraFuseError(error, 'OUT_OF_MEMORY')).toBe(true);
    expect(arena.capacity).toBe(before);
    expect(arena.bytesInUse).toBe(0);
  });
});
