import { describe, expect, it } from 'vitest';
import { Tensor, headsFirstAttention, headsFirstAttentionBackward, type DeviceTensor } from '@lorafuse/core';
import { codeOf, dot, maxRelDiff, naiveAttention, naiveRmsNorm, numericGradient, randomValues, referenceHarness, relL2, seeded } from './reference-oracle.js';

describe('reference rmsNorm', () => {
  it('matches the definition and a hand-computed row', () => {
    const h = referenceHarness();
    // x = [3, 4]: mean(x²) = 12.5, so y = x / √12.5 · w.
    const y = h.values(h.k.rmsNorm(h.f32([1, 2], [3, 4]), h.f32([2], [1, 2]), 0));
    expect(maxRelDiff(y, [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)])).toBeLessThan(1e-7);
    const rand = seeded(1);
    const x = randomValues(rand, 4 * 3 * 7, -3, 3);
    const w = randomValues(rand, 7, 0.5, 1.5);
    expect(maxRelDiff(h.values(h.k.rmsNorm(h.f32([4, 3, 7], x), h.f32([7], w), 1e-5)), naiveRmsNorm(x, w, 7, 1e-5))).toBeLessThan(1e-7);
  });

  it('has gradients that match finite differences', () => {
    const h = referenceHarness();
    const rand = seeded(2);
    const [rows, dim, eps] = [3, 6, 1e-5];
    const x = randomValues(rand, rows * dim, -2, 2);
    const w = randomValues(rand, dim, 0.5, 1.5);
    const dy = randomValues(rand, rows * dim);
    const { dx, dWeight } = h.k.rmsNormBackward(h.f32([rows, dim], x), h.f32([dim], w), h.f32([rows, dim], dy), eps);
    expect(
      relL2(
        h.values(dx),
        numericGradient((p) => dot(dy, naiveRmsNorm(p, w, dim, eps)), x),
      ),
    ).toBeLessThan(1e-6);
    expect(
      relL2(
        h.values(dWeight),
        numericGradient((p) => dot(dy, naiveRmsNorm(x, p, dim, eps)), w),
      ),
    ).toBeLessThan(1e-6);
  });

  it('rejects a weight of the wrong length and a negative eps', () => {
    const h = referenceHarness();
    expect(codeOf(() => h.k.rmsNorm(h.f32([2, 3], [1, 2, 3, 4, 5, 6]), h.f32([2], [1, 1]), 1e-6))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => h.k.rmsNorm(h.f32([1, 2], [1, 2]), h.f32([2], [1, 1]), -1))).toBe('INVALID_OPTION');
  });
});

/** HF Llama RoPE on one head vector: `v·cos + rotate_half(v)·sin`, `rotate_half = cat(−second half, first half)`. */
function naiveRope(x: ArrayLike<number>, cos: ArrayLike<number>, sin: ArrayLike<number>, [b, hN, s, d]: number[], perBatch: boolean): Float64Array {
  const out = new Float64Array(x.length);
  for (let bi = 0; bi < b; bi++)
    for (let hi = 0; hi < hN; hi++)
      for (let si = 0; si < s; si++) {
        const base = ((bi * hN + hi) * s + si) * d;
        const v = Array.from({ length: d }, (_, i) => x[base + i]);
        const rotated = [...v.slice(d / 2).map((e) => -e), ...v.slice(0, d / 2)];
        const t = ((perBatch ? bi * s : 0) + si) * d;
        for (let i = 0; i < d; i++) out[base + i] = v[i] * cos[t + i] + rotated[i] * sin[t + i];
      }
  return out;
}

describe('reference rope', () => {
  it('rotates each pair (i, i + D/2) by the table angle', () => {
    const h = referenceHarness();
    const [c, s] = [Math.cos(0.7), Math.sin(0.7)];
    // D = 2: (1, 0) rotated by 0.7 rad is (cos, sin).
    const y = h.values(h.k.rope(h.f32([1, 1, 1, 2], [1, 0]), h.f32([1, 2], [c, c]), h.f32([1, 2], [s, s])));
    expect(maxRelDiff(y, [c, s])).toBeLessThan(1e-7);
  });

  it.each([false, true])('matches rotate_half on random heads (per-batch tables: %s), and its backward matches finite differences', (perBatch) => {
    const h = referenceHarness();
    const rand = seeded(perBatch ? 4 : 3);
    const shape = [2, 3, 5, 8];
    const size = shape.reduce((a, b) => a * b, 1);
    const tableShape = perBatch ? [2, 5, 8] : [5, 8];
    const angles = randomValues(
      rand,
      tableShape.reduce((a, b) => a * b, 1),
      0,
      6,
    );
    const cos = Float64Array.from(Float32Array.from(angles, Math.cos));
    const sin = Float64Array.from(Float32Array.from(angles, Math.sin));
    const x = randomValues(rand, size);
    const y = h.values(h.k.rope(h.f32(shape, x), h.f32(tableShape, cos), h.f32(tableShape, sin)));
    expect(maxRelDiff(y, naiveRope(x, cos, sin, shape, perBatch))).toBeLessThan(1e-6);
    const dy = randomValues(rand, size);
    const dx = h.values(h.k.ropeBackward(h.f32(shape, dy), h.f32(tableShape, cos), h.f32(tableShape, sin)));
    expect(
      relL2(
        dx,
        numericGradient((p) => dot(dy, naiveRope(p, cos, sin, shape, perBatch)), x),
      ),
    ).toBeLessThan(1e-6);
  });

  it('rejects an odd head dimension and mismatched tables', () => {
    const h = referenceHarness();
    expect(codeOf(() => h.k.rope(h.f32([1, 1, 1, 3], [1, 2, 3]), h.f32([1, 3], [1, 1, 1]), h.f32([1, 3], [0, 0, 0])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => h.k.rope(h.f32([1, 1, 2, 2], [1, 2, 3, 4]), h.f32([1, 2], [1, 1]), h.f32([1, 2], [0, 0])))).toBe('SHAPE_MISMATCH');
  });
});

describe('reference attention', () => {
  it('is causal: with equal scores, query i averages values 0..i', () => {
    const h = referenceHarness();
    const { out, lse } = h.k.attention(h.f32([1, 1, 3, 1], [0, 0, 0]), h.f32([1, 1, 3, 1], [5, 6, 7]), h.f32([1, 1, 3, 1], [1, 2, 6]));
    expect([...h.values(out)]).toEqual([1, 1.5, 3]);
    expect(maxRelDiff(h.values(lse), [0, Math.log(2), Math.log(3)])).toBeLessThan(1e-7);
  });

  it('maps query head h to KV head floor(h / (H / KV))', () => {
    const h = referenceHarness();
    // KV head 0 holds values 1, KV head 1 values 2: query heads 0, 1 must read 1 and heads 2, 3 read 2
    // (an h mod KV mapping would give 1, 2, 1, 2).
    const q = h.f32([1, 4, 1, 2], new Array(8).fill(0.5));
    const k = h.f32([1, 2, 1, 2], new Array(4).fill(1));
    const v = h.f32([1, 2, 1, 2], [1, 1, 2, 2]);
    expect([...h.values(h.k.attention(q, k, v).out)]).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
  });

  it.each([
    ['GQA', { b: 2, hq: 4, kv: 2, sq: 5, sk: 5, d: 3 }, undefined],
    ['MQA, fewer queries than keys', { b: 1, hq: 3, kv: 1, sq: 2, sk: 6, d: 4 }, undefined],
    ['MHA with explicit scale', { b: 1, hq: 2, kv: 2, sq: 4, sk: 4, d: 2 }, 0.7],
  ] as const)('matches the definition and finite-difference gradients: %s', (_, s, scaleOption) => {
    const h = referenceHarness();
    const rand = seeded(s.hq * 10 + s.sk);
    const scale = scaleOption ?? 1 / Math.sqrt(s.d);
    const qShape = [s.b, s.hq, s.sq, s.d];
    const kShape = [s.b, s.kv, s.sk, s.d];
    const q = randomValues(rand, s.b * s.hq * s.sq * s.d, -1.5, 1.5);
    const k = randomValues(rand, s.b * s.kv * s.sk * s.d, -1.5, 1.5);
    const v = randomValues(rand, k.length);
    const options = scaleOption === undefined ? {} : { scale: scaleOption };
    const [qh, kh, vh] = [h.f32(qShape, q), h.f32(kShape, k), h.f32(kShape, v)];
    const fwd = h.k.attention(qh, kh, vh, options);
    const expected = naiveAttention(q, k, v, s, scale);
    expect(maxRelDiff(h.values(fwd.out), expected.out)).toBeLessThan(1e-6);
    expect(maxRelDiff(h.values(fwd.lse), expected.lse)).toBeLessThan(1e-6);
    const dOut = randomValues(rand, q.length);
    const grads = h.k.attentionBackward(qh, kh, vh, fwd.out, fwd.lse, h.f32(qShape, dOut), options);
    const loss = (qq: ArrayLike<number>, kk: ArrayLike<number>, vv: ArrayLike<number>) => dot(dOut, naiveAttention(qq, kk, vv, s, scale).out);
    expect(
      relL2(
        h.values(grads.dq),
        numericGradient((p) => loss(p, k, v), q),
      ),
    ).toBeLessThan(1e-5);
    expect(
      relL2(
        h.values(grads.dk),
        numericGradient((p) => loss(q, p, v), k),
      ),
    ).toBeLessThan(1e-5);
    expect(
      relL2(
        h.values(grads.dv),
        numericGradient((p) => loss(q, k, p), v),
      ),
    ).toBeLessThan(1e-5);
  });

  it("reads and writes the sequence-first layout ('bshd') as the heads-first one with the middle axes swapped", () => {
    const h = referenceHarness();
    const rand = seeded(11);
    const [b, hq, kv, sq, sk, d] = [2, 4, 2, 3, 5, 3];
    // Element (i0, i1, i2, i3) of a [n0, n1, n2, n3] array moved to (i0, i2, i1, i3) of [n0, n2, n1, n3].
    const swap = (x: ArrayLike<number>, [n0, n1, n2, n3]: number[]) => {
      const y = new Array<number>(x.length);
      for (let i0 = 0; i0 < n0; i0++)
        for (let i1 = 0; i1 < n1; i1++)
          for (let i2 = 0; i2 < n2; i2++) for (let i3 = 0; i3 < n3; i3++) y[((i0 * n2 + i2) * n1 + i1) * n3 + i3] = x[((i0 * n1 + i1) * n2 + i2) * n3 + i3];
      return y;
    };
    const [qs, ks] = [
      [b, hq, sq, d],
      [b, kv, sk, d],
    ];
    const [q, k, v, dOut] = [qs, ks, ks, qs].map((shape) =>
      randomValues(
        rand,
        shape.reduce((x, y) => x * y, 1),
        -1.5,
        1.5,
      ),
    );
    const first = h.k.attention(h.f32(qs, q), h.f32(ks, k), h.f32(ks, v));
    const firstGrads = h.k.attentionBackward(h.f32(qs, q), h.f32(ks, k), h.f32(ks, v), first.out, first.lse, h.f32(qs, dOut));
    const [qt, kt] = [
      [b, sq, hq, d],
      [b, sk, kv, d],
    ];
    const bshd = { layout: 'bshd' } as const;
    const seq = h.k.attention(h.f32(qt, swap(q, qs)), h.f32(kt, swap(k, ks)), h.f32(kt, swap(v, ks)), bshd);
    expect([...h.values(seq.out)]).toEqual(swap(h.values(first.out), qs));
    expect([...h.values(seq.lse)]).toEqual([...h.values(first.lse)]);
    const grads = h.k.attentionBackward(
      h.f32(qt, swap(q, qs)),
      h.f32(kt, swap(k, ks)),
      h.f32(kt, swap(v, ks)),
      seq.out,
      seq.lse,
      h.f32(qt, swap(dOut, qs)),
      bshd,
    );
    expect([...h.values(grads.dq)]).toEqual(swap(h.values(firstGrads.dq), qs));
    expect([...h.values(grads.dk)]).toEqual(swap(h.values(firstGrads.dk), ks));
    expect([...h.values(grads.dv)]).toEqual(swap(h.values(firstGrads.dv), ks));
  });

  it('headsFirstAttention gives a heads-first-only kernel the sequence-first layout, freeing what it permutes', () => {
    const h = referenceHarness();
    const rand = seeded(12);
    const [qt, kt] = [
      [2, 3, 4, 3],
      [2, 5, 2, 3],
    ];
    const [q, k, v, dOut] = [qt, kt, kt, qt].map((shape) =>
      h.f32(
        shape,
        randomValues(
          rand,
          shape.reduce((x, y) => x * y, 1),
          -1.5,
          1.5,
        ),
      ),
    );
    // A kernel that, like a backend's heads-first one, refuses the sequence-first layout.
    const headsFirstOnly = <T extends unknown[]>(args: T): T => {
      const options = args[args.length - 1] as { layout?: string } | undefined;
      if (options?.layout === 'bshd') throw new Error('heads-first only');
      return args;
    };
    const host = { kernels: h.k, free: (t: DeviceTensor) => h.backend.free(t) };
    const bshd = { layout: 'bshd' } as const;
    const live = h.backend.memory().tensors;
    const wrapped = headsFirstAttention(host, (...args) => h.k.attention(...headsFirstOnly(args)), q, k, v, bshd);
    const native = h.k.attention(q, k, v, bshd);
    expect([...h.values(wrapped.out)]).toEqual([...h.values(native.out)]);
    expect([...h.values(wrapped.lse)]).toEqual([...h.values(native.lse)]);
    const grads = headsFirstAttentionBackward(host, (...args) => h.k.attentionBackward(...headsFirstOnly(args)), q, k, v, native.out, native.lse, dOut, bshd);
    const nativeGrads = h.k.attentionBackward(q, k, v, native.out, native.lse, dOut, bshd);
    for (const name of ['dq', 'dk', 'dv'] as const) expect([...h.values(grads[name])], name).toEqual([...h.values(nativeGrads[name])]);
    // The permuted copies are freed: only the results of the four calls remain.
    expect(h.backend.memory().tensors).toBe(live + 2 + 2 + 3 + 3);
  });

  it('rejects heads that do not divide and more queries than keys', () => {
    const h = referenceHarness();
    const t = (shape: number[]) => h.f32(shape, new Array(shape.reduce((a, b) => a * b, 1)).fill(0));
    expect(codeOf(() => h.k.attention(t([1, 3, 2, 2]), t([1, 2, 2, 2]), t([1, 2, 2, 2])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => h.k.attention(t([1, 2, 3, 2]), t([1, 2, 2, 2]), t([1, 2, 2, 2])))).toBe('SHAPE_MISMATCH');
  });
});

describe('reference cross-entropy', () => {
  it('matches hand-computed losses, ignoring -100 and averaging over counted rows', () => {
    const h = referenceHarness();
    const ce = (logits: number[], shape: number[], targets: number[]) => {
      const { loss, lse } = h.k.crossEntropy(h.f32(shape, logits), h.i32(shape.slice(0, -1), targets));
      return { loss: h.values(loss)[0], lse: [...h.values(lse)] };
    };
    const even = ce([0, 0], [1, 2], [0]);
    expect(Math.abs(even.loss - Math.log(2))).toBeLessThan(1e-7);
    // Row 0 is ignored; row 1: lse(1, 0) − 0 = ln(e + 1).
    expect(Math.abs(ce([5, 9, 1, 0], [2, 2], [-100, 1]).loss - Math.log(Math.E + 1))).toBeLessThan(1e-6);
    // Mean over two counted rows of three.
    const mixed = ce([0, 0, 1, 0, 0, 3], [3, 2], [1, -100, 1]);
    expect(Math.abs(mixed.loss - (Math.log(2) + Math.log(1 + Math.exp(3)) - 3) / 2)).toBeLessThan(1e-6);
    expect(Number.isNaN(ce([1, 2], [1, 2], [-100]).loss)).toBe(true);
    expect(Number.isNaN(ce([1, 2, 3, 4], [2, 2], [0, 2]).loss)).toBe(true);
    expect(Number.isNaN(ce([1, 2, 3, 4], [2, 2], [-1, 0]).loss)).toBe(true);
    // Large logits: a stable log-sum-exp.
    expect(Math.abs(ce([1000, 1000], [1, 2], [1]).loss - Math.log(2))).toBeLessThan(1e-6);
  });

  it('has a gradient that matches finite differences of scale · mean loss', () => {
    const h = referenceHarness();
    const rand = seeded(9);
    const [rows, vocab, scale] = [5, 7, 0.25];
    const logits = randomValues(rand, rows * vocab, -3, 3);
    const targets = [3, -100, 0, 6, -100];
    const naiveLoss = (l: ArrayLike<number>) => {
      let total = 0;
      let count = 0;
      targets.forEach((t, r) => {
        if (t === -100) return;
        let s = 0;
        for (let c = 0; c < vocab; c++) s += Math.exp(l[r * vocab + c]);
        total += Math.log(s) - l[r * vocab + t];
        count++;
      });
      return (scale * total) / count;
    };
    const lh = h.f32([rows, vocab], logits);
    const th = h.i32([rows], targets);
    const { loss, lse } = h.k.crossEntropy(lh, th);
    expect(Math.abs(h.values(loss)[0] - naiveLoss(logits) / scale)).toBeLessThan(1e-6);
    const grad = h.values(h.k.crossEntropyBackward(lh, th, lse, scale));
    expect(relL2(grad, numericGradient(naiveLoss, logits))).toBeLessThan(1e-6);
    expect([...grad.slice(vocab, 2 * vocab)]).toEqual(new Array(vocab).fill(0));
  });

  it('gives zero gradients when every row is ignored and NaN rows for out-of-range targets', () => {
    const h = referenceHarness();
    const logits = h.f32([2, 2], [1, 2, 3, 4]);
    const ignored = h.i32([2], [-100, -100]);
    expect([...h.values(h.k.crossEntropyBackward(logits, ignored, h.k.crossEntropy(logits, ignored).lse, 1))]).toEqual([0, 0, 0, 0]);
    const bad = h.i32([2], [0, 5]);
    const g = h.values(h.k.crossEntropyBackward(logits, bad, h.k.crossEntropy(logits, bad).lse, 1));
    expect(g.slice(0, 2).every(Number.isFinite) && g.slice(2).every(Number.isNaN)).toBe(true);
    expect(codeOf(() => h.k.crossEntropy(logits, h.f32([2], [0, 1])))).toBe('DTYPE_MISMATCH');
    expect(codeOf(() => h.k.crossEntropy(logits, h.i32([3], [0, 1, 1])))).toBe('SHAPE_MISMATCH');
  });
});

describe('reference embedding', () => {
  it('gathers rows (widening f16), with NaN rows for out-of-range ids', () => {
    const h = referenceHarness();
    const table = Tensor.f32([3, 2], [1, 2, 3, 4, 5.5, -6]);
    const rows = h.values(h.k.embedding(h.i32([2, 2], [2, 0, 3, 2]), h.backend.upload(table.castFloat('f16'))));
    expect([...rows.slice(0, 4)]).toEqual([5.5, -6, 1, 2]);
    expect(rows.slice(4, 6).every(Number.isNaN)).toBe(true);
    expect([...rows.slice(6)]).toEqual([5.5, -6]);
    expect(h.read(h.k.embedding(h.i32([2, 2], [0, 0, 0, 0]), h.backend.upload(table))).shape).toEqual([2, 2, 2]);
  });

  it('scatter-adds the gradient (finite differences of the gather), dropping out-of-range ids', () => {
    const h = referenceHarness();
    const rand = seeded(12);
    const [vocab, dim] = [5, 3];
    const ids = [4, 1, 4, 4, 7, 0, -2, 1];
    const table = randomValues(rand, vocab * dim);
    const dy = randomValues(rand, ids.length * dim);
    const gather = (t: ArrayLike<number>) =>
      ids.flatMap((id) => (id >= 0 && id < vocab ? Array.from({ length: dim }, (_, d) => t[id * dim + d]) : new Array(dim).fill(0)));
    const grad = h.values(h.k.embeddingBackward(h.i32([ids.length], ids), h.f32([ids.length, dim], dy), vocab));
    expect(
      relL2(
        grad,
        numericGradient((p) => dot(dy, gather(p)), table),
      ),
    ).toBeLessThan(1e-7);
    expect(codeOf(() => h.k.embeddingBackward(h.i32([2], [0, 1]), h.f32([3, dim], new Array(9).fill(0)), vocab))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => h.k.embeddingBackward(h.i32([1], [0]), h.f32([1, dim], [0, 0, 0]), -1))).toBe('INVALID_OPTION');
  });
});
