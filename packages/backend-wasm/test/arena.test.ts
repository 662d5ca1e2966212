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

describe('Arena compaction', () => {
  const MiB = 2 ** 20;

  it('asks its compactor before raising the top over 64 MiB of holes; compact() slides the live blocks down, bytes intact', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    const arena = new Arena(memory, 1024);
    const live = new Map<string, { address: number; bytes: number }>();
    const take = (name: string, bytes: number, fill: number) => {
      const block = { address: arena.alloc(bytes), bytes };
      new Uint8Array(arena.buffer, block.address, bytes).fill(fill);
      live.set(name, block);
    };
    const drop = (name: string) => {
      const block = live.get(name)!;
      arena.free(block.address, block.bytes);
      live.delete(name);
    };
    take('a', 1000, 1);
    take('hole1', 40 * MiB, 0);
    take('b', 3 * MiB, 2);
    take('hole2', 30 * MiB, 0);
    take('c', 5000, 3);
    drop('hole1');
    drop('hole2');
    const inUse = arena.bytesInUse;
    let asked = 0;
    arena.compactor = () => {
      asked++;
      arena.compact(live.values());
      return true;
    };
    // 50 MiB fits neither 40 MiB hole: with 70 MiB of holes, compact rather than grow.
    take('big', 50 * MiB, 4);
    expect(asked).toBe(1);
    expect(arena.compactions).toBe(1);
    const end = Math.max(...[...live.values()].map((b) => b.address + Math.ceil(b.bytes / 16) * 16));
    expect(end).toBe(Math.ceil(1024 / 16) * 16 + inUse + 50 * MiB);
    for (const [name, fill] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['big', 4],
    ] as const) {
      const { address, bytes } = live.get(name)!;
      expect(new Uint8Array(arena.buffer, address, bytes).every((v) => v === fill)).toBe(true);
    }
    // Small holes are not worth moving blocks for.
    take('d', 1000, 5);
    take('small', 8 * MiB, 0);
    take('e', 1000, 6);
    drop('small');
    take('f', 9 * MiB, 7);
    expect(asked).toBe(1);
  });

  it('grows over the holes when the owner declines to compact', () => {
    const arena = fresh();
    const keep = arena.alloc(16);
    const hole = arena.alloc(70 * MiB);
    arena.alloc(16);
    arena.free(hole, 70 * MiB);
    arena.compactor = () => false;
    const top = arena.alloc(80 * MiB);
    expect(top).toBeGreaterThan(hole + 70 * MiB);
    expect(arena.peakTop - keep).toBeGreaterThan(150 * MiB);
  });
});
