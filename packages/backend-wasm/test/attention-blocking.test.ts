// The wasm attention kernels work on blocks of four query rows of one head,
// with keys packed in panels of 8 and the head dimension in passes of 8, 4
// and 1 floats. These tests hold that blocking to what the contract needs:
// every edge of it (rows, keys, head dimension, Sq < Sk, GQA groups) against
// the reference backend (float64 accumulation), a row's results independent of the rows it
// shares a block with, bit-identical results for any thread count, and
// masked keys that never reach the output (an infinite value past the causal
// edge or before a sliding window, a score of −∞). Sliding windows move
// each row's first key too: every case above runs with windows as well.
import { setFlagsFromString } from 'node:v8';
import { ReferenceBackend, Tensor, type AttentionOptions, type DeviceTensor } from '@lorafuse/core';
import { CONFORMANCE_TOLERANCES } from '@lorafuse/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/backend.js';
import { withParts } from './part-assignment.js';

setFlagsFromString('--experimental-wasm-relaxed-simd');

/** Sizes of `q` `[batch, heads, seqQ, dim]` and `k`, `v` `[batch, kvHeads, seqK, dim]`. */
type Shape = Readonly<Record<'batch' | 'heads' | 'kvHeads' | 'seqQ' | 'seqK' | 'dim', number>>;

interface Inputs {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly dOut: Float32Array;
}

/** The float64-accumulating reference backend of core: the ground truth. */
const reference = new ReferenceBackend();
const backends: WasmBackend[] = [];
afterAll(async () => {
  await Promise.all([reference, ...backends].map((b) => b.dispose()));
});
/** A backend that splits every attention call (minParallelWork 0). */
async function open(simd: 'plain' | 'relaxed', threads: number): Promise<WasmBackend> {
  const backend = await WasmBackend.create({ simd, threads, minParallelWork: 0 });
  backends.push(backend);
  return backend;
}

/** Deterministic values in [-1, 1) from a 32-bit LCG. */
function values(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function inputsOf(s: Shape, seed: number): Inputs {
  const qn = s.batch * s.heads * s.seqQ * s.dim;
  const kn = s.batch * s.kvHeads * s.seqK * s.dim;
  return { q: values(qn, seed), k: values(kn, seed + 1), v: values(kn, seed + 2), dOut: values(qn, seed + 3) };
}

/** Forward and backward (the backward on that backend's own `out` and `lse`), read back. */
function runAttention(backend: WasmBackend | ReferenceBackend, s: Shape, x: Inputs, options: AttentionOptions = {}) {
  const up = (data: Float32Array, shape: number[]) => backend.upload(new Tensor('f32', shape, data));
  const qShape = [s.batch, s.heads, s.seqQ, s.dim];
  const kShape = [s.batch, s.kvHeads, s.seqK, s.dim];
  const [q, k, v, dOut] = [up(x.q, qShape), up(x.k, kShape), up(x.v, kShape), up(x.dOut, qShape)];
  const { out, lse } = backend.kernels.attention(q, k, v, options);
  const { dq, dk, dv } = backend.kernels.attentionBackward(q, k, v, out, lse, dOut, options);
  const read = (t: DeviceTensor) => backend.readSync(t).data as Float32Array;
  const result = { out: read(out), lse: read(lse), dq: read(dq), dk: read(dk), dv: read(dv) };
  for (const t of [q, k, v, dOut, out, lse, dq, dk, dv]) backend.free(t);
  return result;
}

/** `‖a − b‖₂ / ‖b‖₂`. */
function relL2(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  a.forEach((x, i) => {
    num += (x - b[i]) ** 2;
    den += b[i] ** 2;
  });
  return Math.sqrt(num / den);
}

/** Index of the first element whose bits differ, -1 when identical. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  if (x.length !== y.length) return Math.min(x.length, y.length);
  return x.findIndex((bits, i) => bits !== y[i]);
}

// Each shape crosses a different edge of the blocking: head dimensions with
// 8-float passes only (64), an 8- and a 4-float pass and a scalar tail (15),
// a 4-float pass alone (4), scalar alone (3, 1); sequences that leave 1, 2
// or 3 rows in a head's last block and key counts off the 8-key panels;
// fewer queries than keys; groups of 1, 3 and 4 query heads per KV head;
// one query per head (decoding), where the forward blocks a group's heads.
interface ShapeCase {
  readonly name: string;
  readonly shape: Shape;
  readonly options?: AttentionOptions;
}
const SHAPES: readonly ShapeCase[] = [
  { name: 'tiny-like H4 KV2 S37 D64', shape: { batch: 2, heads: 4, kvHeads: 2, seqQ: 37, seqK: 37, dim: 64 } },
  { name: 'H3 KV1 S14 D15', shape: { batch: 1, heads: 3, kvHeads: 1, seqQ: 14, seqK: 14, dim: 15 } },
  { name: 'Sq 7 < Sk 19, D4', shape: { batch: 1, heads: 2, kvHeads: 2, seqQ: 7, seqK: 19, dim: 4 } },
  { name: 'Sq 5 < Sk 6, H4 KV1 D3, scale 0.9', shape: { batch: 2, heads: 4, kvHeads: 1, seqQ: 5, seqK: 6, dim: 3 }, options: { scale: 0.9 } },
  { name: 'S11 D1', shape: { batch: 1, heads: 2, kvHeads: 1, seqQ: 11, seqK: 11, dim: 1 } },
  { name: 'S70 D24', shape: { batch: 1, heads: 2, kvHeads: 1, seqQ: 70, seqK: 70, dim: 24 } },
  { name: 'decoding Sq 1 < Sk 21, H6 KV2 D16', shape: { batch: 2, heads: 6, kvHeads: 2, seqQ: 1, seqK: 21, dim: 16 } },
  // Windows: rows of a block start 0–3 keys apart (window 2 and 3 leave no key every row sees), on and off the panels.
  { name: 'window 2, S13 D8', shape: { batch: 1, heads: 2, kvHeads: 1, seqQ: 13, seqK: 13, dim: 8 }, options: { window: 2 } },
  { name: 'window 3, H3 KV1 S14 D15', shape: { batch: 1, heads: 3, kvHeads: 1, seqQ: 14, seqK: 14, dim: 15 }, options: { window: 3 } },
  { name: 'window 11, S70 D24', shape: { batch: 1, heads: 2, kvHeads: 1, seqQ: 70, seqK: 70, dim: 24 }, options: { window: 11 } },
  { name: 'window 16, H4 KV2 S37 D64', shape: { batch: 2, heads: 4, kvHeads: 2, seqQ: 37, seqK: 37, dim: 64 }, options: { window: 16 } },
  { name: 'window 5, Sq 7 < Sk 19, D4', shape: { batch: 1, heads: 2, kvHeads: 2, seqQ: 7, seqK: 19, dim: 4 }, options: { window: 5 } },
  { name: 'window 9, decoding Sq 1 < Sk 21, H6 KV2 D16', shape: { batch: 2, heads: 6, kvHeads: 2, seqQ: 1, seqK: 21, dim: 16 }, options: { window: 9 } },
];

describe('wasm attention scratch', () => {
  it('cuts a call with long key blocks into fewer parts than threads × 4, within 32 MiB of scratch', async () => {
    // 12 KV blocks of 6 000 keys × 60: each backward part packs K and V,
    // 6 000 · 64 · 8 bytes ≈ 2.9 MiB, so 32 MiB holds 10 parts, not 12.
    const backend = await open('plain', 3);
    const shape: Shape = { batch: 1, heads: 12, kvHeads: 12, seqQ: 1, seqK: 6000, dim: 60 };
    const x = inputsOf(shape, 41);
    const partsOf = () => backend.threadUse.byCaller + backend.threadUse.byWorkers;
    const before = partsOf();
    const got = runAttention(backend, shape, x);
    // The forward (1.5 MiB a part) splits into one part per row.
    expect(partsOf() - before).toBe(12 + Math.floor((32 << 20) / (6000 * 64 * 8)));
    expect(got.dk.every(Number.isFinite)).toBe(true);
  });
});

describe.each(['plain', 'relaxed'] as const)('wasm attention blocking (%s SIMD)', (simd) => {
  it.each(SHAPES)('matches the reference, forward and backward: $name', async ({ shape, options }) => {
    const backend = await open(simd, 1);
    const x = inputsOf(shape, 11);
    const got = runAttention(backend, shape, x, options);
    const want = runAttention(reference, shape, x, options);
    for (const name of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
      const tolerance = name === 'out' || name === 'lse' ? CONFORMANCE_TOLERANCES.attention : CONFORMANCE_TOLERANCES.attentionBackward;
      // At most 3e-7 measured: the tolerance is 30 times that.
      expect(relL2(got[name], want[name]), name).toBeLessThan(tolerance);
    }
  });

  it.each([{}, { window: 6 }])(
    'gives each query row the same bits whichever rows share its block (forward out and lse, backward dq), options %o',
    async (options) => {
      // Queries [a, Sq) of a call are the last Sq − a positions with the same
      // keys: a = 1, 2, 3 moves every row to another place in its block.
      const backend = await open(simd, 1);
      const shape: Shape = { batch: 1, heads: 2, kvHeads: 1, seqQ: 23, seqK: 23, dim: 20 };
      const x = inputsOf(shape, 5);
      const full = runAttention(backend, shape, x, options);
      const rowsOf = (data: Float32Array, a: number, width: number) => {
        const heads = Array.from({ length: shape.heads }, (_, h) => data.subarray((h * shape.seqQ + a) * width, (h + 1) * shape.seqQ * width));
        return Float32Array.from(heads.flatMap((part) => [...part]));
      };
      for (const a of [1, 2, 3]) {
        const sub: Shape = { ...shape, seqQ: shape.seqQ - a };
        const part = runAttention(backend, sub, { q: rowsOf(x.q, a, shape.dim), k: x.k, v: x.v, dOut: rowsOf(x.dOut, a, shape.dim) }, options);
        expect(firstDifference(part.out, rowsOf(full.out, a, shape.dim)), `out, from row ${a}`).toBe(-1);
        expect(firstDifference(part.lse, rowsOf(full.lse, a, 1)), `lse, from row ${a}`).toBe(-1);
        expect(firstDifference(part.dq, rowsOf(full.dq, a, shape.dim)), `dq, from row ${a}`).toBe(-1);
      }
    },
  );

  it.each([
    // 3 KV blocks of 2 heads × 13 queries (78 rows): the forward's parts
    // start inside four-row blocks, the backward's on whole KV blocks.
    { name: 'H6 KV3 S13 D12', shape: { batch: 1, heads: 6, kvHeads: 3, seqQ: 13, seqK: 13, dim: 12 } },
    // One query per head: the forward's parts cut through groups of heads.
    { name: 'decoding H9 KV3 Sq1 Sk30 D8', shape: { batch: 2, heads: 9, kvHeads: 3, seqQ: 1, seqK: 30, dim: 8 } },
    { name: 'window 5, H6 KV3 S13 D12', shape: { batch: 1, heads: 6, kvHeads: 3, seqQ: 13, seqK: 13, dim: 12 }, options: { window: 5 } },
  ] as ShapeCase[])('is bit-identical for 1, 2 and 3 threads and between runs: $name', async ({ shape, options }) => {
    const x = inputsOf(shape, 21);
    const single = runAttention(await open(simd, 1), shape, x, options);
    for (const threads of [2, 3]) {
      const backend = await open(simd, threads);
      // Twice with the parts claimed (a worker that wakes late may run none),
      // then with them dealt to the threads in turn, so that the workers
      // surely run parts.
      for (const [run, assignment] of [
        [1, 'claimed'],
        [2, 'claimed'],
        [3, 'dealt'],
      ] as const) {
        const { result, byWorkers } = withParts(assignment, backend, () => runAttention(backend, shape, x, options));
        for (const name of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
          expect(firstDifference(result[name], single[name]), `${name}, ${threads} threads, run ${run} (${assignment})`).toBe(-1);
        }
        if (assignment === 'dealt') expect(byWorkers, `parts the workers ran, ${threads} threads`).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it('keeps masked keys out: an infinite value past the causal edge, a key scored −∞', async () => {
    const backend = await open(simd, 1);
    const shape: Shape = { batch: 1, heads: 1, kvHeads: 1, seqQ: 9, seqK: 9, dim: 8 };
    const x = inputsOf(shape, 31);
    // Key 6's value is +∞: rows 0–5 must not see it (0·∞ would be NaN).
    const v = x.v.slice();
    v.fill(Infinity, 6 * 8, 7 * 8);
    const got = runAttention(backend, shape, { ...x, v });
    const want = runAttention(reference, shape, { ...x, v });
    expect(relL2(got.out.subarray(0, 6 * 8), want.out.subarray(0, 6 * 8))).toBeLessThan(CONFORMANCE_TOLERANCES.attention);
    expect(got.out.subarray(6 * 8).every((e) => !Number.isFinite(e))).toBe(true);
    expect(got.lse.every(Number.isFinite)).toBe(true);
    // dq of rows 0–5 and all of dv (P·dOut, no v in it) stay finite.
    expect(relL2(got.dq.subarray(0, 6 * 8), want.dq.subarray(0, 6 * 8))).toBeLessThan(CONFORMANCE_TOLERANCES.attentionBackward);
    expect(relL2(got.dv, want.dv)).toBeLessThan(CONFORMANCE_TOLERANCES.attentionBackward);
    // A key whose first component is −∞ against queries whose first is
    // positive scores −∞ everywhere: weight exactly 0, lse and out finite.
    const q = x.q.map((e, i) => (i % 8 === 0 ? Math.abs(e) + 0.1 : e));
    const k = x.k.slice();
    k.fill(0, 2 * 8, 3 * 8);
    k[2 * 8] = -Infinity;
    const masked = runAttention(backend, shape, { ...x, q, k });
    const maskedWant = runAttention(reference, shape, { ...x, q, k });
    expect(relL2(masked.out, maskedWant.out)).toBeLessThan(CONFORMANCE_TOLERANCES.attention);
    expect(relL2(masked.lse, maskedWant.lse)).toBeLessThan(CONFORMANCE_TOLERANCES.attention);
  });

  it('keeps keys before a sliding window out: an infinite key and value that only early rows see', async () => {
    const backend = await open(simd, 1);
    const shape: Shape = { batch: 1, heads: 1, kvHeads: 1, seqQ: 12, seqK: 12, dim: 8 };
    const x = inputsOf(shape, 37);
    // Key 2 is +∞ in k and v: with a window of 4, rows 6–11 no longer see it.
    const [k, v] = [x.k.slice(), x.v.slice()];
    k.fill(Infinity, 2 * 8, 3 * 8);
    v.fill(Infinity, 2 * 8, 3 * 8);
    const options = { window: 4 };
    const got = runAttention(backend, shape, { ...x, k, v }, options);
    const want = runAttention(reference, shape, { ...x, k, v }, options);
    const late = (t: Float32Array, width: number) => t.subarray(6 * width);
    for (const name of ['out', 'dq'] as const) {
      expect(late(got[name], 8).every(Number.isFinite), name).toBe(true);
      expect(relL2(late(got[name], 8), late(want[name], 8)), name).toBeLessThan(CONFORMANCE_TOLERANCES.attentionBackward);
    }
    expect(relL2(late(got.lse, 1), late(want.lse, 1))).toBeLessThan(CONFORMANCE_TOLERANCES.attention);
  });
});
