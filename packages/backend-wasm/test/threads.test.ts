import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { ReferenceBackend, Tensor, type DeviceTensor } from '@lorafuse/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asyncCodeOf } from '../../core/test/error-code.js';
import { WasmBackend } from '../src/backend.js';
import { ThreadPool, assignParts, type PartAssignment } from '../src/threads/pool.js';
import { guidedRanges, splitProduct, splitRange } from '../src/threads/split.js';
import { compileKernels, instantiateKernels } from '../src/wasm/module.js';
import { withParts } from './part-assignment.js';

setFlagsFromString('--experimental-wasm-relaxed-simd');

const backends: WasmBackend[] = [];
/** A backend that splits every matmul and attention call (minParallelWork 0), so small shapes exercise every split too. */
async function open(threads: number, simd: 'plain' | 'relaxed' = 'plain'): Promise<WasmBackend> {
  const backend = await WasmBackend.create({ simd, threads, minParallelWork: 0 });
  backends.push(backend);
  return backend;
}
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.dispose()));
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** Deterministic values in [-1, 1) from a 32-bit LCG, so every backend gets the same bytes. */
function values(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Deterministic values of `shape` from `seed`, uploaded to `backend`. */
const upload = (backend: WasmBackend, shape: number[], seed: number): DeviceTensor =>
  backend.upload(
    new Tensor(
      'f32',
      shape,
      values(
        shape.reduce((x, y) => x * y, 1),
        seed,
      ),
    ),
  );

const bytesOf = (t: Tensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** Index of the first byte where two results differ, -1 when they are identical (a cheap failure message for large arrays). */
function firstDifference(a: Tensor, b: Tensor): number {
  const [x, y] = [bytesOf(a), bytesOf(b)];
  if (x.length !== y.length) return Math.min(x.length, y.length);
  return x.findIndex((byte, i) => byte !== y[i]);
}

/**
 * Runs `run` on `backend` with the parts claimed (the default), then dealt;
 * both must give `single`'s bits. Returns the parts the workers ran dealt.
 */
function workerPartsOfSameBits(backend: WasmBackend, run: (b: WasmBackend) => Tensor[], single: readonly Tensor[]): number {
  const claimed = run(backend);
  const { result: dealt, byWorkers } = withParts('dealt', backend, () => run(backend));
  single.forEach((t, i) => {
    expect(firstDifference(claimed[i], t), `output ${i}, ${backend.threads} threads`).toBe(-1);
    expect(firstDifference(dealt[i], t), `output ${i}, ${backend.threads} threads, dealt`).toBe(-1);
  });
  return byWorkers;
}

interface Product {
  readonly name: string;
  readonly a: readonly number[];
  readonly b: readonly number[];
  readonly transA?: boolean;
  readonly transB?: boolean;
  readonly f16?: boolean;
}

// Shapes that split by columns (many 8-column panels; with 2 and 3 threads
// each part has at most 4 panels and reads A in place, where one thread
// packs it), by rows (n < 16, or a short K), with transposes, a
// half-precision weight, batches and ragged edges. Each splits into two
// parts or more with 2 and with 3 threads.
const PRODUCTS: Product[] = [
  { name: 'columns 67x300x203', a: [67, 300], b: [300, 203] },
  // Column parts of 6–7 panels, more than the module reads A in place for:
  // they share one packed A (packed by rows across the threads).
  { name: 'columns sharing packed A 67x300x400', a: [67, 300], b: [300, 400] },
  { name: 'transA, columns sharing packed A 70x260x420', a: [260, 70], b: [260, 420], transA: true },
  { name: 'rows, short K 150x8x130', a: [150, 8], b: [8, 130] },
  { name: 'transA, skinny (A read in place) 70x33x20', a: [33, 70], b: [33, 20], transA: true },
  { name: 'rows, skinny 301x64x8 (LoRA down)', a: [301, 64], b: [8, 64], transB: true },
  { name: 'transA 70x33x41', a: [33, 70], b: [33, 41], transA: true },
  { name: 'f16 weight, transB 80x520x130', a: [80, 520], b: [130, 520], transB: true, f16: true },
  { name: 'batched [3] 70x17x50', a: [3, 70, 17], b: [3, 17, 50] },
  // A batch sharing one B runs as one product of all the batch's rows.
  { name: 'batched A, shared B [4] 21x40x300', a: [4, 21, 40], b: [40, 300] },
  { name: 'batched transposed A, shared B [3] 20x36x200', a: [3, 36, 20], b: [36, 200], transA: true },
];

function runProduct(backend: WasmBackend, p: Product): Tensor {
  const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
  const b = new Tensor('f32', p.b, values(size(p.b), 2));
  const out = backend.kernels.matmul(backend.upload(new Tensor('f32', p.a, values(size(p.a), 1))), backend.upload(p.f16 ? b.castFloat('f16') : b), {
    transA: !!p.transA,
    transB: !!p.transB,
  });
  return backend.readSync(out);
}

describe('splitRange', () => {
  it('covers [0, total) with aligned inner bounds and no empty parts', () => {
    expect(splitRange(100, 3, 8)).toEqual([
      [0, 32],
      [32, 64],
      [64, 100],
    ]);
    expect(splitRange(5, 4, 6)).toEqual([[0, 5]]);
    expect(splitRange(0, 4)).toEqual([[0, 0]]);
    expect(splitRange(7, 3)).toEqual([
      [0, 2],
      [2, 4],
      [4, 7],
    ]);
  });
});

describe('guidedRanges', () => {
  it('covers [0, total) in aligned ranges of 1/(2·threads) of what is left, down to the minimum', () => {
    // 100 units of 8 on 2 threads: 25, 19, 14, 11, 8, then the minimum of 6, and a rest of 5 joins the last.
    const ranges = guidedRanges(800, 2, 6, 8);
    expect(ranges.map(([a, b]) => (b - a) / 8)).toEqual([25, 19, 14, 11, 8, 6, 6, 11]);
    ranges.forEach(([start], i) => {
      expect(start).toBe(i === 0 ? 0 : ranges[i - 1][1]);
    });
    expect(ranges[ranges.length - 1][1]).toBe(800);
    // A partial last unit, and nothing to split.
    expect(guidedRanges(10, 1, 1, 4)).toEqual([
      [0, 8],
      [8, 10],
    ]);
    expect(guidedRanges(0, 2, 1)).toEqual([[0, 0]]);
  });
});

describe('splitProduct', () => {
  const orientation = (m: number, k: number, n: number, parts: number) => {
    const tiles = splitProduct(m, k, n, parts, 2);
    return tiles.every(([i1, i2]) => i1 === 0 && i2 === m) ? 'columns' : tiles.every(([, , j1, j2]) => j1 === 0 && j2 === n) ? 'rows' : 'mixed';
  };

  it('tapers: on 2 threads, 8 parts of 192 panels become panels of 1/4 of the rest down to 6 (a quarter of an even part)', () => {
    const panels = splitProduct(256, 576, 1536, 8, 2).map(([i1, i2, j1, j2]) => {
      expect([i1, i2]).toEqual([0, 256]);
      return (j2 - j1) / 8;
    });
    expect(panels).toEqual([48, 36, 27, 21, 15, 12, 9, 6, 6, 6, 6]);
    // Row parts: at least 8 row tiles (32 rows), here a quarter of an even part (64 rows); the rest of 8 rows joins the last.
    expect(splitProduct(2048, 8, 576, 8, 2).map(([i1, i2]) => i2 - i1)).toEqual([512, 384, 288, 216, 164, 124, 92, 68, 64, 64, 72]);
  });

  it('splits large products by columns and short-K or tall products with a small B by rows', () => {
    expect(orientation(1024, 1024, 1024, 8)).toBe('columns');
    expect(orientation(256, 1536, 576, 8)).toBe('columns');
    expect(orientation(2048, 576, 8, 8)).toBe('rows');
    expect(orientation(2048, 8, 576, 8)).toBe('rows');
    expect(orientation(256, 8, 1536, 8)).toBe('rows');
    expect(orientation(2048, 256, 576, 8)).toBe('rows');
    // B past the L2 budget, or a long K with C wider than tall: columns.
    expect(orientation(4096, 8, 100_000, 8)).toBe('columns');
    expect(orientation(256, 64, 1024, 8)).toBe('columns');
  });

  it('covers C exactly once with tiles aligned to the register tile, tapered when there are more parts than threads', () => {
    for (const [m, k, n, parts, threads] of [
      [67, 300, 203, 8, 2],
      [150, 8, 130, 12, 3],
      [5, 3, 7, 4, 2],
      [256, 576, 1536, 8, 2],
      [256, 576, 1536, 2, 2],
    ]) {
      const tiles = splitProduct(m, k, n, parts, threads);
      if (parts <= threads) expect(tiles.length).toBe(parts);
      const cover = new Uint8Array(m * n);
      for (const [i1, i2, j1, j2] of tiles) {
        for (let i = i1; i < i2; i++) for (let j = j1; j < j2; j++) cover[i * n + j]++;
        if (i1 > 0) expect(i1 % 4).toBe(0);
        if (j1 > 0) expect(j1 % 8).toBe(0);
      }
      expect(cover.every((count) => count === 1)).toBe(true);
    }
  });
});

describe('thread pool part assignment', () => {
  let previous: PartAssignment;
  beforeEach(() => {
    previous = assignParts('claimed');
  });
  afterEach(() => {
    assignParts(previous);
  });

  it('deals call i to thread i mod threads when told to: the workers run theirs, as they count themselves', async () => {
    const memory = new WebAssembly.Memory({ initial: 8, maximum: 8, shared: true });
    const module = await compileKernels('plain', true);
    // Instantiated here too, for the end of its static data: the arrays go above it.
    const base = Math.ceil((await instantiateKernels(module, memory)).heapBase() / 64) * 64;
    const pool = await ThreadPool.start('node', module, memory, ['scale'], 2);
    try {
      const [calls, size] = [11, 16];
      const [x, out] = [base, base + calls * size * 4];
      const input = new Float32Array(memory.buffer, x, calls * size);
      const output = new Float32Array(memory.buffer, out, calls * size);
      input.set(values(calls * size, 9));
      // Call i scales row i of x by i + 2 into row i of out.
      const job = Array.from({ length: calls }, (_, i) => [x + i * size * 4, out + i * size * 4, size, i + 2]);
      const here: number[] = [];
      const record = (call: readonly number[]) => {
        here.push(job.indexOf(call as number[]));
      };
      assignParts('dealt');
      pool.run('scale', job, record);
      // The caller is thread 0 of 3: calls 0, 3, 6 and 9 were its own (it only recorded them).
      expect(here).toEqual([0, 3, 6, 9]);
      expect(pool.use).toEqual({ byCaller: 4, byWorkers: 7 });
      for (let i = 0; i < calls; i++) {
        const row = Array.from(output.subarray(i * size, (i + 1) * size));
        const want = here.includes(i) ? new Array(size).fill(0) : Array.from(input.subarray(i * size, (i + 1) * size), (v) => Math.fround(v * (i + 2)));
        expect(row, `row ${i}`).toEqual(want);
      }
      // Claimed (the default): every call runs once, here or in a worker.
      assignParts('claimed');
      here.length = 0;
      pool.run('scale', job, record);
      expect(pool.use).toEqual({ byCaller: 4 + here.length, byWorkers: 7 + calls - here.length });
    } finally {
      await pool.close();
    }
  });
});

describe('wasm backend with threads', () => {
  // Each comparison runs twice: with the parts claimed (the default, where a
  // worker that wakes late may run none of a call's parts), and dealt, where
  // the workers surely run some, so the comparison is across threads.
  it('gives bit-identical matmul results for 1, 2 and 3 threads, and they match float64', async () => {
    const [one, two, three] = [await open(1), await open(2), await open(3)];
    expect(two.description).toBe('wasm (SIMD128, 2 threads)');
    for (const p of PRODUCTS) {
      const reference = runProduct(one, p);
      for (const backend of [two, three]) {
        const label = `${p.name}, ${backend.threads} threads`;
        expect(firstDifference(runProduct(backend, p), reference), label).toBe(-1);
        const { result, byCaller, byWorkers } = withParts('dealt', backend, () => runProduct(backend, p));
        expect(firstDifference(result, reference), `${label}, dealt`).toBe(-1);
        // Every product splits into two parts or more: dealt, the caller and a worker ran one each at least.
        expect({ byCaller: byCaller > 0, byWorkers: byWorkers > 0 }, label).toEqual({ byCaller: true, byWorkers: true });
      }
    }
    // The shared result is right: the first shape against a float64 product written here.
    const [m, k, n] = [67, 300, 203];
    const [a, b] = [values(m * k, 1), values(k * n, 2)];
    const c = runProduct(two, PRODUCTS[0]).data as Float32Array;
    let worst = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
        worst = Math.max(worst, Math.abs(c[i * n + j] - s));
      }
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('gives bit-identical loraLinear and attention (forward and backward, GQA, both layouts) results for 1 and 2 threads', async () => {
    const run = (backend: WasmBackend): Tensor[] => {
      const up = (shape: number[], seed: number) => upload(backend, shape, seed);
      const k = backend.kernels;
      const lora = k.loraLinear(up([37, 96], 1), up([80, 96], 2), up([8, 96], 3), up([80, 8], 4), 2);
      // 3 key/value blocks of 2 heads × 9 queries: an even split of the 54
      // query rows would cut a block in half.
      const [q, kk, v] = [up([1, 6, 9, 12], 5), up([1, 3, 9, 12], 6), up([1, 3, 9, 12], 7)];
      const { out, lse } = k.attention(q, kk, v);
      const { dq, dk, dv } = k.attentionBackward(q, kk, v, out, lse, up([1, 6, 9, 12], 8));
      // The same in the sequence-first layout, where a block's keys lie KV·D floats apart.
      const bshd = { layout: 'bshd' } as const;
      const [sq, sk, sv] = [up([1, 9, 6, 12], 9), up([1, 9, 3, 12], 10), up([1, 9, 3, 12], 11)];
      const seq = k.attention(sq, sk, sv, bshd);
      const seqGrads = k.attentionBackward(sq, sk, sv, seq.out, seq.lse, up([1, 9, 6, 12], 12), bshd);
      return [lora, out, lse, dq, dk, dv, seq.out, seq.lse, seqGrads.dq, seqGrads.dk, seqGrads.dv].map((t: DeviceTensor) => backend.readSync(t));
    };
    const single = run(await open(1, 'relaxed'));
    // Three products of loraLinear, attention and its backward in both layouts, each in two parts or more: workers ran parts of each.
    expect(workerPartsOfSameBits(await open(2, 'relaxed'), run, single)).toBeGreaterThanOrEqual(7);
  });

  it('gives bit-identical elementwise, GeGLU, soft-capping, dropout, RMSNorm, cross-entropy, reshape, permute and RoPE results for 1 and 3 threads', async () => {
    const run = (backend: WasmBackend): Tensor[] => {
      const up = (shape: number[], seed: number) => upload(backend, shape, seed);
      const k = backend.kernels;
      // 75 rows: RMSNorm's weight gradient sums blocks of 32 rows, and the
      // parts of 3 threads end inside the last block. Odd sizes leave
      // scalar tails after the f32x4 loops.
      const [x, y, w] = [up([75, 22], 1), up([75, 22], 2), up([22], 3)];
      const norm = k.rmsNormBackward(x, w, y, 1e-5);
      const swiglu = k.swigluBackward(x, y, up([75, 22], 4));
      const geglu = k.gegluBackward(x, y, up([75, 22], 15));
      // Targets with ignored rows (−100) and one out of range (a NaN row).
      const targets = backend.upload(
        new Tensor(
          'i32',
          [75],
          Int32Array.from({ length: 75 }, (_, i) => (i % 7 === 3 ? -100 : i === 40 ? 99 : (i * 5) % 22)),
        ),
      );
      const { loss, lse } = k.crossEntropy(x, targets);
      return [
        k.add(x, y),
        k.mul(x, w),
        k.add(up([75, 1], 6), up([1], 5)),
        k.scale(x, 0.3),
        k.abs(x),
        k.sqrt(x),
        // Each part continues the mask's stream at its own counter, across 2^32.
        k.dropout(x, { seed: 4, stream: 9, offset: 2 ** 32 - 800, p: 0.2 }),
        k.silu(x),
        k.siluBackward(x, y),
        k.swiglu(x, y),
        swiglu.dGate,
        swiglu.dUp,
        k.geglu(x, y),
        geglu.dGate,
        geglu.dUp,
        k.softcap(x, 0.7),
        k.softcapBackward(x, y, 1.5),
        k.rmsNorm(x, w, 1e-5),
        norm.dx,
        norm.dWeight,
        loss,
        lse,
        k.crossEntropyBackward(x, targets, lse, 0.5),
        k.reshape(x, [22, 75]),
        // Rows of the last axis move whole; a moved last axis goes element by element.
        k.permute(up([3, 7, 5, 6], 7), [0, 2, 1, 3]),
        k.permute(up([3, 7, 5, 6], 8), [3, 1, 0, 2]),
        // RoPE splits by batch entries: with per-entry tables (the model's per-token call) and shared ones.
        k.rope(up([9, 3, 1, 6], 9), up([9, 1, 6], 10), up([9, 1, 6], 11)),
        k.ropeBackward(up([5, 2, 4, 6], 12), up([4, 6], 13), up([4, 6], 14)),
      ].map((t: DeviceTensor) => backend.readSync(t));
    };
    const single = run(await open(1));
    // 25 split calls, each in two parts or more: the workers ran parts of each.
    expect(workerPartsOfSameBits(await open(3), run, single)).toBeGreaterThanOrEqual(25);
  });

  it('gives loraImportance results bit-identical to the float64 reference for 1, 2 and 3 threads, plain and relaxed', async () => {
    // Ranks below, at and past the kernel's chunk of 8; widths with tails
    // after its groups of 8 columns; odd row and column counts, so the last
    // pair of a part is one row (column) twice; B with a zero row (signs 0);
    // no columns or no rows; and, last, an A with a NaN (NaN columns of W).
    const cases = [
      { r: 8, inF: 67, outF: 45 },
      { r: 11, inF: 40, outF: 33 },
      { r: 3, inF: 9, outF: 2 },
      { r: 8, inF: 576, outF: 192 },
      { r: 2, inF: 0, outF: 3 },
      { r: 2, inF: 5, outF: 0 },
      { r: 16, inF: 130, outF: 7, nan: true },
    ];
    const inputs = cases.map(({ r, inF, outF, nan }, c) => {
      const a = values(r * inF, 10 * c + 1);
      if (nan) a[inF + 5] = NaN;
      const b = values(outF * r, 10 * c + 2).map((x, i) => (Math.floor(i / r) === 1 ? 0 : x));
      const n = values(inF, 10 * c + 3).map(Math.abs);
      return [new Tensor('f32', [r, inF], a), new Tensor('f32', [outF, r], b), new Tensor('f32', [inF], n)];
    });
    // Sums whose value depends on their order: 2⁶⁰ − 2⁶⁰ + 1 is 1 in order, 0 in most others. Every sign is +1;
    // B's scores sum n over j, A's first column sums of B over i.
    const huge = 2 ** 60;
    const ordered = [
      new Tensor('f32', [3, 16], new Float32Array(48).fill(1)),
      new Tensor('f32', [3, 3], Float32Array.of(huge, 2 * huge, 0, -huge, 2 * huge, 0, 1, 2 * huge, 0)),
      new Tensor(
        'f32',
        [16],
        Float32Array.from({ length: 16 }, (_, j) => [huge, -huge, 1][j] ?? 0),
      ),
    ];
    inputs.push(ordered);
    // NaN payloads differ between engines and the reference: compare NaN positions, and every other value's bits.
    const bits = (t: Tensor) =>
      Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer), (u, i) => (Number.isNaN((t.data as Float32Array)[i]) ? -1 : u));
    const scoresOf = (backend: WasmBackend | ReferenceBackend, [a, b, n]: Tensor[]) =>
      backend.kernels.loraImportance(backend.upload(a), backend.upload(b), backend.upload(n));
    const expected: number[][] = [];
    const reference = new ReferenceBackend();
    for (const input of inputs) {
      const { a, b } = scoresOf(reference, input);
      expected.push(bits(await reference.read(a)), bits(await reference.read(b)));
    }
    expect(expected[2 * cases.length - 2].some((u) => u === -1)).toBe(true);
    expect(expected[2 * cases.length + 1]).toEqual(new Array(9).fill(new Uint32Array(Float32Array.of(1).buffer)[0]));
    expect(expected[0].some((u) => u === 0)).toBe(false);
    const run = (backend: WasmBackend) =>
      inputs.flatMap((input) => {
        const { a, b } = scoresOf(backend, input);
        return [bits(backend.readSync(a)), bits(backend.readSync(b))];
      });
    for (const simd of ['plain', 'relaxed'] as const) {
      for (const threads of [1, 2, 3]) {
        const backend = await open(threads, simd);
        // Parts claimed as the threads come (the default), then dealt to every thread in turn.
        const claimed = run(backend);
        const { result: dealt, byWorkers } = withParts('dealt', backend, () => run(backend));
        expected.forEach((want, i) => {
          const label = `${simd}, ${threads} thread(s), case ${i >> 1} ${i % 2 === 0 ? 'A' : 'B'}`;
          expect(claimed[i], label).toEqual(want);
          expect(dealt[i], `${label}, dealt`).toEqual(want);
        });
        // Dealt, the workers ran parts of both passes (rows, then columns) of the larger cases.
        if (threads > 1) expect(byWorkers).toBeGreaterThanOrEqual(2 * (threads - 1));
      }
    }
  });

  it('lets a script that never disposes its threaded backend exit once its work is done', () => {
    // The workers keep the process alive until they are ready (Deno needs that to deliver their first message), not after.
    const entry = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      const { WasmBackend } = await import(${JSON.stringify(entry)});
      const { Tensor } = await import('@lorafuse/core');
      const backend = await WasmBackend.create({ threads: 2, minParallelWork: 0 });
      const a = backend.upload(Tensor.f32([64, 64], new Float32Array(64 * 64).fill(1)));
      const out = await backend.read(backend.kernels.matmul(a, a));
      console.log(out.data[0]);
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      timeout: 120_000,
    });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('64');
    expect(run.status).toBe(0);
  });

  it('terminates its workers on dispose, and kernels then throw BACKEND_DISPOSED', async () => {
    const workerThreads = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
    const Original = workerThreads.Worker;
    const exited: Promise<number>[] = [];
    vi.spyOn(workerThreads, 'Worker').mockImplementation(function (this: unknown, ...args: ConstructorParameters<typeof Original>) {
      const worker = new Original(...args);
      exited.push(new Promise((resolve) => worker.once('exit', resolve)));
      return worker;
    } as unknown as typeof Original);
    const backend = await WasmBackend.create({ threads: 3 });
    expect(exited).toHaveLength(2);
    const x = backend.upload(new Tensor('f32', [2, 2], values(4, 1)));
    await backend.dispose();
    await expect(Promise.all(exited)).resolves.toHaveLength(2);
    expect(await asyncCodeOf(() => backend.kernels.matmul(x, x))).toBe('BACKEND_DISPOSED');
  });

  it('turns a failure inside a worker into WORKER_FAILED naming the kernel', async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const pool = await ThreadPool.start('node', await compileKernels('plain', true), memory, ['matmul'], 1);
    const previous = assignParts('dealt');
    try {
      // C lies far outside the one-page memory: the instance traps. Dealt,
      // the odd calls are the worker's; the caller's are no-ops here.
      const bad = [0, 0, 1 << 30, 0, 1, 8, 8, 8, 0, 0, 0, 0, 0, 1024, 0, 8, 0, 8];
      let error: unknown;
      try {
        pool.run(
          'matmul',
          Array.from({ length: 4 }, () => bad),
          () => undefined,
        );
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'WORKER_FAILED', details: { kernel: 'matmul' } });
      expect(String((error as Error).message)).toMatch(/out of bounds/);
      // The worker stopped at its first call, which failed: the caller's two ran, none of the worker's.
      expect(pool.use).toEqual({ byCaller: 2, byWorkers: 0 });
    } finally {
      assignParts(previous);
      await pool.close();
    }
  });

  it('rejects bad thread counts, and threads where shared memory is missing, with typed errors', async () => {
    expect(await asyncCodeOf(() => WasmBackend.create({ threads: 0 }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => WasmBackend.create({ threads: 1.5 }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => WasmBackend.create({ minParallelWork: -1 }))).toBe('INVALID_OPTION');
    vi.stubGlobal('SharedArrayBuffer', undefined);
    expect(await asyncCodeOf(() => WasmBackend.create({ threads: 2 }))).toBe('BACKEND_INIT_FAILED');
    // Without shared memory the default is the single-thread build.
    const fallback = await WasmBackend.create({ simd: 'plain' });
    backends.push(fallback);
    expect(fallback.threads).toBe(1);
  });
});
