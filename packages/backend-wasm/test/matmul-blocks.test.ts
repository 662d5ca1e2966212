// Large products run as several calls over blocks of columns or of the
// reduction, so that no call widens a whole large weight to f32. The module
// call over part of the reduction adds exactly what the whole call adds for
// those terms (checked bit for bit on the module itself); the kernels'
// scratch stays within PACK_BUDGET_BYTES-sized packings (checked on the
// arena's high-water mark with Qwen2.5-0.5B's LM head, 151 936 × 896 bf16),
// and blocked results do not depend on the thread count.
import { Tensor, f32ToBf16Bits } from '@lorafuse/core';
import { afterAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/backend.js';
import { compileKernels, instantiateKernels } from '../src/wasm/module.js';

const MiB = 2 ** 20;

/** Uniform values in ±1 from an LCG. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

describe('the module matmul over part of the reduction', () => {
  it('adds, over [k0, k1) blocks of KC terms, exactly what one call over all of K gives', async () => {
    const exports = await instantiateKernels(await compileKernels('plain', false));
    const [m, k, n] = [13, 700, 21];
    const memory = exports.memory;
    memory.grow(64);
    const floats = (count: number, at: number) => new Float32Array(memory.buffer, at, count);
    let next = Math.ceil(exports.heapBase() / 16) * 16;
    const take = (count: number) => {
      const at = next;
      next += Math.ceil((count * 4) / 16) * 16;
      return at;
    };
    const a = take(m * k);
    const b = take(k * n);
    const whole = take(m * n);
    const parts = take(m * n);
    const scratch = take(exports.matmulScratchFloats(k, n));
    floats(m * k, a).set(values(m * k, 1));
    floats(k * n, b).set(values(k * n, 2));
    for (const transB of [false, true]) {
      exports.matmul(a, b, whole, 0, 1, m, k, n, 0, 0, 0, +transB, 0, scratch, 0, m, 0, n, 0, 0, 0, k);
      for (const [k0, k1] of [
        [0, 256],
        [256, 512],
        [512, 700],
      ])
        exports.matmul(a, b, parts, 0, 1, m, k, n, 0, 0, 0, +transB, +(k0 > 0), scratch, 0, m, 0, n, 0, 0, k0, k1);
      expect(floats(m * n, parts)).toEqual(floats(m * n, whole));
    }
  });
});

describe('wasm matmul on large weights', () => {
  const backends: WasmBackend[] = [];
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.dispose()));
  });
  const open = async (threads: number) => {
    const backend = await WasmBackend.create({ threads });
    backends.push(backend);
    return backend;
  };

  it("keeps the LM head's products of Qwen2.5-0.5B (151 936 × 896, bf16) within 64 MiB of scratch beyond their output", async () => {
    const [vocab, hidden, tokens] = [151_936, 896, 64];
    const backend = await open(2);
    const bits = new Uint16Array(vocab * hidden);
    const w = values(hidden * 1024, 3);
    for (let i = 0; i < bits.length; i++) bits[i] = f32ToBf16Bits(w[i % w.length] * 0.05);
    const weight = backend.upload(new Tensor('bf16', [vocab, hidden], bits));
    const x = backend.upload(Tensor.f32([1, tokens, hidden], values(tokens * hidden, 4)));
    const dy = backend.upload(Tensor.f32([1, tokens, vocab], values(tokens * vocab, 5)));
    const check = (run: () => ReturnType<WasmBackend['kernels']['matmul']>, outputBytes: number) => {
      backend.resetMemoryPeaks();
      const before = backend.memory().bytes;
      const out = run();
      const grew = backend.memoryPeaks().bytesInUse - before - outputBytes;
      expect(grew).toBeLessThanOrEqual(64 * MiB);
      return out;
    };
    // The forward product x·Wᵀ (blocks of columns) and the input gradient dy·W (blocks of the reduction).
    const logits = check(() => backend.kernels.matmul(x, weight, { transB: true }), tokens * vocab * 4);
    const dx = check(() => backend.kernels.matmul(dy, weight), tokens * hidden * 4);
    // Sampled entries against float64.
    const xs = (await backend.read(x)).toFloat32();
    const dys = (await backend.read(dy)).toFloat32();
    const ls = (await backend.read(logits)).toFloat32();
    const ds = (await backend.read(dx)).toFloat32();
    const wv = (r: number, c: number) => Math.fround(w[(r * hidden + c) % w.length] * 0.05);
    const bf = (v: number) => new Float32Array(new Uint32Array([f32ToBf16Bits(v) << 16]).buffer)[0];
    for (const [t, v] of [
      [0, 0],
      [17, 151_935],
      [63, 77_777],
    ]) {
      let sum = 0;
      for (let c = 0; c < hidden; c++) sum += xs[t * hidden + c] * bf(wv(v, c));
      expect(Math.abs(ls[t * vocab + v] - sum)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(sum)));
    }
    for (const [t, c] of [
      [0, 0],
      [40, 895],
    ]) {
      let sum = 0;
      for (let v = 0; v < vocab; v++) sum += dys[t * vocab + v] * bf(wv(v, c));
      expect(Math.abs(ds[t * hidden + c] - sum)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.sqrt(vocab) * 0.05));
    }
  });

  it('gives the same bits for any thread count, in blocks of columns and of the reduction', async () => {
    const threads = [1, 2, 3];
    const backends = await Promise.all(threads.map(open));
    // 9000 × 600 runs in two blocks of columns; 150 000 × 40 in two blocks of the reduction.
    for (const [m, k, n] of [
      [37, 9000, 600],
      [5, 150_000, 40],
    ]) {
      const a = Tensor.f32([m, k], values(m * k, 6));
      const b = Tensor.f32([k, n], values(k * n, 7));
      const results: Float32Array[] = [];
      for (const backend of backends) results.push((await backend.read(backend.kernels.matmul(backend.upload(a), backend.upload(b)))).toFloat32());
      expect(results[1]).toEqual(results[0]);
      expect(results[2]).toEqual(results[0]);
    }
  });
});
