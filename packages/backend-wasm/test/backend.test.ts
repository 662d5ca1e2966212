import { Tensor, isLoraFuseError, type Backend } from '@lorafuse/core';
import { afterEach, describe, expect, it } from 'vitest';
import { WasmBackend, wasmBackend } from '../src/backend.js';

const backends: Backend[] = [];
async function open(): Promise<WasmBackend> {
  const b = await WasmBackend.create({ simd: 'plain' });
  backends.push(b);
  return b;
}
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.dispose()));
});

/** Counts memory.grow calls on every WebAssembly.Memory, independently of the arena's own bookkeeping. */
function countGrows<T>(work: () => T): { grows: number; result: T } {
  const original = WebAssembly.Memory.prototype.grow;
  let grows = 0;
  WebAssembly.Memory.prototype.grow = function (this: WebAssembly.Memory, delta: number) {
    grows++;
    return original.call(this, delta);
  };
  try {
    const result = work();
    return { grows, result };
  } finally {
    WebAssembly.Memory.prototype.grow = original;
  }
}

/** One training-like step on the backend: forward, backward-ish and an optimizer update, freeing what it made unless `leak`. */
function step(backend: WasmBackend, x: ReturnType<WasmBackend['upload']>, w: ReturnType<WasmBackend['upload']>, leak: boolean): void {
  const k = backend.kernels;
  const y = k.matmul(x, w, { transB: true });
  const s = k.silu(y);
  const total = k.sum(s);
  for (const t of leak ? [] : [y, s, total]) backend.free(t);
}

describe('WasmBackend', () => {
  it('is registered as "wasm" with the wasm priority', () => {
    const factory = wasmBackend();
    expect(factory.name).toBe('wasm');
    expect(factory.priority).toBe(200);
  });

  it('causes no memory.grow over 10,000 kernel calls after warm-up, and a leaking caller is caught', async () => {
    const backend = await open();
    const x = backend.upload(
      new Tensor(
        'f32',
        [16, 64],
        Float32Array.from({ length: 1024 }, (_, i) => Math.sin(i)),
      ),
    );
    const w = backend.upload(
      new Tensor(
        'f32',
        [32, 64],
        Float32Array.from({ length: 2048 }, (_, i) => Math.cos(i)),
      ),
    );
    step(backend, x, w, false);
    const steady = countGrows(() => {
      for (let i = 0; i < 10_000 / 3; i++) step(backend, x, w, false);
    });
    expect(steady.grows).toBe(0);
    const leaking = countGrows(() => {
      for (let i = 0; i < 10_000 / 3; i++) step(backend, x, w, true);
    });
    expect(leaking.grows).toBeGreaterThan(0);
  });

  it('refuses a tensor past the 4 GiB wasm32 limit with OUT_OF_MEMORY, allocating nothing', async () => {
    const backend = await open();
    const before = backend.memoryCapacity;
    let error: unknown;
    try {
      backend.kernels.randomUniform([2 ** 30 + 1], { seed: 1, stream: 0 });
    } catch (e) {
      error = e;
    }
    expect(isLoraFuseError(error, 'OUT_OF_MEMORY')).toBe(true);
    expect(backend.memoryCapacity).toBe(before);
    expect(backend.memory().tensors).toBe(0);
    expect(backend.maxBytes).toBeLessThanOrEqual(2 ** 32);
  });

  it('gives bit-identical matmul results on separate instances of the same build', async () => {
    const [one, two] = [await open(), await open()];
    const a = new Tensor(
      'f32',
      [67, 300],
      Float32Array.from({ length: 67 * 300 }, (_, i) => Math.sin(i * 0.37)),
    );
    const b = new Tensor(
      'f32',
      [45, 300],
      Float32Array.from({ length: 45 * 300 }, (_, i) => Math.cos(i * 0.11)),
    );
    const run = async (backend: WasmBackend) => (await backend.read(backend.kernels.matmul(backend.upload(a), backend.upload(b), { transB: true }))).data;
    expect(Buffer.from((await run(one)).buffer).equals(Buffer.from((await run(two)).buffer))).toBe(true);
  });

  it('matches a float64 dot product computed here for a 300-deep matmul', async () => {
    const backend = await open();
    const [m, k, n] = [5, 300, 9];
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.5));
    const c = (await backend.read(backend.kernels.matmul(backend.upload(new Tensor('f32', [m, k], a)), backend.upload(new Tensor('f32', [k, n], b)))))
      .data as Float32Array;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
        expect(Math.abs(c[i * n + j] - s)).toBeLessThan(1e-4 * Math.max(1, Math.abs(s)));
      }
    }
  });

  it('computes SiLU to within 4 ulp of float64 everywhere in [-80, 80] (vector exp)', async () => {
    const backend = await open();
    const x = Float32Array.from({ length: 16_001 }, (_, i) => -80 + i * 0.01);
    const y = (await backend.read(backend.kernels.silu(backend.upload(new Tensor('f32', [x.length], x))))).data as Float32Array;
    let worst = 0;
    x.forEach((v, i) => {
      const exact = v / (1 + Math.exp(-v));
      if (Math.abs(exact) > 1e-30) worst = Math.max(worst, Math.abs(y[i] - exact) / Math.abs(exact));
    });
    expect(worst).toBeLessThan(4 * 2 ** -24);
  });

  it('frees the outputs a kernel made before it ran out of memory part-way', async () => {
    const backend = await WasmBackend.create({ simd: 'plain', maxBytes: 2 * 2 ** 20 });
    backends.push(backend);
    const n = 120_000;
    const [gate, up, dy] = [0, 1, 2].map(() => backend.upload(new Tensor('f32', [n], new Float32Array(n).fill(0.5))));
    let error: unknown;
    try {
      // Inputs take 1.44 MB, dGate fits under the 2 MiB cap, dUp does not.
      backend.kernels.swigluBackward(gate, up, dy);
    } catch (e) {
      error = e;
    }
    expect(isLoraFuseError(error, 'OUT_OF_MEMORY')).toBe(true);
    expect(backend.memory().tensors).toBe(3);
    expect(backend.memory().bytes).toBe(3 * 4 * n);
    // The arena reuses what the failed call gave back: a half-size call still fits.
    const half = backend.upload(new Tensor('f32', [n / 2], new Float32Array(n / 2)));
    expect(backend.kernels.silu(half).size).toBe(n / 2);
  });

  it('rejects a maxBytes that is not a positive integer', async () => {
    await expect(WasmBackend.create({ maxBytes: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});

describe('WasmBackend memory', () => {
  it('compacts its arena inside a kernel call (undone and rerun) instead of stranding the holes freed tensors leave', async () => {
    const backend = await WasmBackend.create({ simd: 'plain', threads: 1 });
    const floats = (n: number, v: number) => Tensor.f32([n], new Float32Array(n).fill(v));
    const M = 2 ** 18; // floats per MiB
    const a = backend.upload(floats(1000, 1));
    const hole1 = backend.upload(floats(40 * M, 0));
    const b = backend.upload(floats(3 * M, 2));
    const hole2 = backend.upload(floats(30 * M, 0));
    const x = backend.upload(floats(50 * M, 3));
    backend.free(hole1);
    backend.free(hole2);
    backend.resetMemoryPeaks();
    const top = backend.memoryPeaks().top!;
    // The 50 MiB sum fits neither hole: the arena is compacted and the add runs again, below the old top
    // (without compaction it would end 50 MiB above it).
    const sum = backend.kernels.add(x, x);
    const peaks = backend.memoryPeaks();
    expect(peaks.top).toBe(top);
    expect(peaks.bytesInUse).toBe(4000 + 103 * 2 ** 20);
    expect((await backend.read(sum)).toFloat32().every((v) => v === 6)).toBe(true);
    for (const [t, v] of [
      [a, 1],
      [b, 2],
      [x, 3],
    ] as const) {
      expect((await backend.read(t)).toFloat32().every((e) => e === v)).toBe(true);
    }
    await backend.dispose();
  });
});
