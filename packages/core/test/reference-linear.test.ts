import { describe, expect, it } from 'vitest';
import { Tensor } from '@lorafuse/core';
import { codeOf, dot, maxRelDiff, numericGradient, randomValues, referenceHarness, relL2, seeded } from './reference-oracle.js';

/** Naive batched product written from the definition, with explicit element accessors. */
function naiveMatmul(a: Float64Array, aShape: number[], b: Float64Array, bShape: number[], transA: boolean, transB: boolean): Float64Array {
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  const batches = Math.max(
    aShape.slice(0, -2).reduce((x, y) => x * y, 1),
    bShape.slice(0, -2).reduce((x, y) => x * y, 1),
  );
  const aBatched = aShape.length > 2;
  const bBatched = bShape.length > 2;
  const A = (t: number, i: number, p: number) => a[(aBatched ? t * ar * ac : 0) + (transA ? p * ac + i : i * ac + p)];
  const B = (t: number, p: number, j: number) => b[(bBatched ? t * br * bc : 0) + (transB ? j * bc + p : p * bc + j)];
  const out = new Float64Array(batches * m * n);
  for (let t = 0; t < batches; t++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A(t, i, p) * B(t, p, j);
        out[(t * m + i) * n + j] = s;
      }
  return out;
}

describe('reference matmul', () => {
  it('matches hand-computed 2x2 products for every transpose', () => {
    const h = referenceHarness();
    const a = h.f32([2, 2], [1, 2, 3, 4]);
    const b = h.f32([2, 2], [5, 6, 7, 8]);
    expect([...h.values(h.k.matmul(a, b))]).toEqual([19, 22, 43, 50]);
    expect([...h.values(h.k.matmul(a, b, { transB: true }))]).toEqual([17, 23, 39, 53]);
    expect([...h.values(h.k.matmul(a, b, { transA: true }))]).toEqual([26, 30, 38, 44]);
    expect([...h.values(h.k.matmul(a, b, { transA: true, transB: true }))]).toEqual([23, 31, 34, 46]);
  });

  it.each([
    ['plain', [7, 5], [5, 3], false, false],
    ['transA', [5, 7], [5, 3], true, false],
    ['transB', [7, 5], [3, 5], false, true],
    ['both', [5, 7], [3, 5], true, true],
    ['batched both sides', [2, 3, 4, 5], [2, 3, 5, 6], false, false],
    ['batched a, shared b', [3, 4, 5], [6, 5], false, true],
    ['shared a, batched b', [4, 5], [3, 5, 2], false, false],
  ] as const)('matches a naive product: %s', (_, aShape, bShape, transA, transB) => {
    const h = referenceHarness();
    const rand = seeded(7);
    const av = randomValues(
      rand,
      aShape.reduce((x, y) => x * y, 1),
    );
    const bv = randomValues(
      rand,
      bShape.reduce((x, y) => x * y, 1),
    );
    const out = h.k.matmul(h.f32(aShape, av), h.f32(bShape, bv), { transA, transB });
    const expected = naiveMatmul(av, [...aShape], bv, [...bShape], transA, transB);
    // f64 accumulation then one rounding: each element within half an f32 ulp.
    expect(maxRelDiff(h.values(out), expected)).toBeLessThan(1e-7);
  });

  it('widens f16 and bf16 weights exactly and returns zeros for K = 0', () => {
    const h = referenceHarness();
    const rand = seeded(3);
    // Multiples of 1/8 below 16 are exact in f16 and bf16.
    const wv = Float64Array.from({ length: 12 }, () => Math.round((rand() - 0.5) * 100) / 8);
    const xv = randomValues(rand, 8);
    const expected = naiveMatmul(xv, [2, 4], wv, [3, 4], false, true);
    for (const dtype of ['f16', 'bf16'] as const) {
      const w = h.backend.upload(Tensor.f32([3, 4], wv).castFloat(dtype));
      expect(maxRelDiff(h.values(h.k.matmul(h.f32([2, 4], xv), w, { transB: true })), expected)).toBeLessThan(1e-7);
    }
    const empty = h.k.matmul(h.f32([3, 0], []), h.f32([0, 2], []));
    expect(h.read(empty).shape).toEqual([3, 2]);
    expect([...h.values(empty)]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('propagates NaN through a row even against zero weights', () => {
    const h = referenceHarness();
    const out = h.values(h.k.matmul(h.f32([2, 2], [NaN, 1, 1, 1]), h.f32([2, 2], [0, 0, 0, 0])));
    expect(Number.isNaN(out[0]) && Number.isNaN(out[1])).toBe(true);
    expect([out[2], out[3]]).toEqual([0, 0]);
  });

  it('rejects bad shapes and dtypes with their codes', () => {
    const h = referenceHarness();
    expect(codeOf(() => h.k.matmul(h.f32([2, 3], [1, 2, 3, 4, 5, 6]), h.f32([2, 2], [1, 2, 3, 4])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => h.k.matmul(h.f32([2, 2, 2], new Array(8).fill(1)), h.f32([3, 2, 2], new Array(12).fill(1))))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => h.k.matmul(h.f32([4], [1, 2, 3, 4]), h.f32([4, 1], [1, 2, 3, 4])))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => h.k.matmul(h.i32([1, 1], [1]), h.f32([1, 1], [1])))).toBe('DTYPE_MISMATCH');
  });
});

describe('reference loraLinear', () => {
  it('matches a hand-computed example', () => {
    const h = referenceHarness();
    // x·W0ᵀ = [1, 2, 3]; x·Aᵀ = 3; (x·Aᵀ)·Bᵀ = [3, 6, 0]; scaled by 0.5.
    const y = h.k.loraLinear(h.f32([1, 2], [1, 2]), h.f32([3, 2], [1, 0, 0, 1, 1, 1]), h.f32([1, 2], [1, 1]), h.f32([3, 1], [1, 2, 0]), 0.5);
    expect([...h.values(y)]).toEqual([2.5, 5, 3]);
  });

  it('equals x·(W0 + s·B·A)ᵀ on random inputs, with a bf16 base', () => {
    const h = referenceHarness();
    const rand = seeded(11);
    const [rows, inF, outF, r, s] = [6, 9, 5, 3, 2.5];
    const xv = randomValues(rand, rows * inF);
    const w0 = Float64Array.from({ length: outF * inF }, () => Math.round((rand() - 0.5) * 64) / 16);
    const av = randomValues(rand, r * inF);
    const bv = randomValues(rand, outF * r);
    const merged = new Float64Array(outF * inF);
    for (let o = 0; o < outF; o++)
      for (let i = 0; i < inF; i++) {
        let d = 0;
        for (let q = 0; q < r; q++) d += bv[o * r + q] * av[q * inF + i];
        merged[o * inF + i] = w0[o * inF + i] + s * d;
      }
    const expected = naiveMatmul(xv, [rows, inF], merged, [outF, inF], false, true);
    const y = h.k.loraLinear(
      h.f32([2, 3, inF], xv),
      h.backend.upload(Tensor.f32([outF, inF], w0).castFloat('bf16')),
      h.f32([r, inF], av),
      h.f32([outF, r], bv),
      s,
    );
    expect(h.read(y).shape).toEqual([2, 3, outF]);
    expect(relL2(h.values(y), expected)).toBeLessThan(1e-7);
  });

  it('rejects factors of the wrong shape', () => {
    const h = referenceHarness();
    const x = h.f32([1, 2], [1, 2]);
    const w0 = h.f32([3, 2], [1, 0, 0, 1, 1, 1]);
    expect(codeOf(() => h.k.loraLinear(x, w0, h.f32([1, 3], [1, 1, 1]), h.f32([3, 1], [1, 2, 0]), 1))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => h.k.loraLinear(x, w0, h.f32([1, 2], [1, 1]), h.f32([3, 2], [1, 2, 0, 1, 1, 1]), 1))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => h.k.loraLinear(x, w0, h.f32([1, 2], [1, 1]), h.f32([3, 1], [1, 2, 0]), Infinity))).toBe('INVALID_OPTION');
  });
});

describe('reference elementwise kernels', () => {
  it('adds and multiplies with suffix broadcasting, propagating NaN and infinities', () => {
    const h = referenceHarness();
    const a = h.f32([2, 3], [1, 2, 3, NaN, Infinity, -Infinity]);
    const b = h.f32([3], [10, 20, Infinity]);
    const sum = h.values(h.k.add(a, b));
    expect([...sum.slice(0, 3)]).toEqual([11, 22, Infinity]);
    expect(Number.isNaN(sum[3])).toBe(true);
    expect(sum[4]).toBe(Infinity);
    expect(Number.isNaN(sum[5])).toBe(true); // −∞ + ∞
    expect([...h.values(h.k.mul(h.f32([2, 2], [1, 2, 3, 4]), h.f32([], [3])))]).toEqual([3, 6, 9, 12]);
    expect(codeOf(() => h.k.add(a, h.f32([2], [1, 2])))).toBe('SHAPE_MISMATCH');
  });

  it('scales, keeping NaN even when the factor is 0', () => {
    const h = referenceHarness();
    const out = h.values(h.k.scale(h.f32([3], [1, -2, NaN]), 0));
    expect(Object.is(out[0], 0) && Object.is(out[1], -0) && Number.isNaN(out[2])).toBe(true);
    expect(codeOf(() => h.k.scale(h.f32([1], [1]), NaN))).toBe('INVALID_OPTION');
  });

  it('casts to f16 with hand-checked bit patterns (ties to even, overflow, subnormals, NaN)', () => {
    const h = referenceHarness();
    const cases: [number, number][] = [
      [1, 0x3c00],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1 + 2⁻¹⁰: stays on the even 1
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between odd 0x3c01 and even 0x3c02
      [65504, 0x7bff],
      [65520, 0x7c00], // halfway to 65536, which is even and overflows
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000], // halfway between 0 and the smallest subnormal
      [1.5 * 2 ** -25, 0x0001],
      [-0, 0x8000],
      [-Infinity, 0xfc00],
      [-2.5, 0xc100],
    ];
    const out = h.read(h.k.cast(h.f32([cases.length + 1], [...cases.map((c) => c[0]), NaN]), 'f16')).data as Uint16Array;
    expect([...out.slice(0, cases.length)]).toEqual(cases.map((c) => c[1]));
    expect(out[cases.length] & 0x7c00).toBe(0x7c00);
    expect(out[cases.length] & 0x03ff).not.toBe(0);
  });

  it('casts to bf16 with hand-checked bit patterns', () => {
    const h = referenceHarness();
    const cases: [number, number][] = [
      [1, 0x3f80],
      [1 + 2 ** -8, 0x3f80], // tie, stays even
      [1 + 3 * 2 ** -8, 0x3f82], // tie, goes up to even
      [-2, 0xc000],
      [3.4028234663852886e38, 0x7f80], // f32 max rounds up to infinity
      [2 ** -149, 0x0000], // the smallest f32 subnormal ties down to zero
      [2 ** -133, 0x0001], // a bf16 subnormal is kept
      [3.140625, 0x4049],
    ];
    const out = h.read(
      h.k.cast(
        h.f32(
          [cases.length],
          cases.map((c) => c[0]),
        ),
        'bf16',
      ),
    ).data as Uint16Array;
    expect([...out]).toEqual(cases.map((c) => c[1]));
  });

  it('widens f16 and bf16 bits exactly and converts between them', () => {
    const h = referenceHarness();
    const f16 = h.backend.upload(new Tensor('f16', [5], Uint16Array.from([0x0001, 0x7bff, 0xfc00, 0x3555, 0x8000])));
    const wide = h.values(h.k.cast(f16, 'f32'));
    expect([...wide]).toEqual([2 ** -24, 65504, -Infinity, 0.333251953125, -0]);
    expect(Object.is(wide[4], -0)).toBe(true);
    const bf16 = h.backend.upload(new Tensor('bf16', [2], Uint16Array.from([0x4049, 0xff80])));
    expect([...h.values(h.k.cast(bf16, 'f32'))]).toEqual([3.140625, -Infinity]);
    // 65504 (f16 max) in bf16: 65504 = 0x477fe000 in f32, rounds to 0x4780 (65536).
    expect([...(h.read(h.k.cast(f16, 'bf16')).data as Uint16Array).slice(1, 2)]).toEqual([0x4780]);
    expect(codeOf(() => h.k.cast(f16, 'i32' as never))).toBe('UNSUPPORTED_DTYPE');
  });

  it('computes SiLU and SwiGLU from their definitions', () => {
    const h = referenceHarness();
    const xs = [-30, -2, -0.5, 0, 0.5, 3, 20];
    const silu = (x: number) => x / (1 + Math.exp(-x));
    expect(maxRelDiff(h.values(h.k.silu(h.f32([xs.length], xs))), xs.map(silu))).toBeLessThan(1e-7);
    const up = [2, -1, 0.5, 4, -3, 1, 0.25];
    expect(
      maxRelDiff(
        h.values(h.k.swiglu(h.f32([7], xs), h.f32([7], up))),
        xs.map((x, i) => silu(x) * up[i]),
      ),
    ).toBeLessThan(1e-7);
    expect(Number.isNaN(h.values(h.k.silu(h.f32([1], [NaN])))[0])).toBe(true);
  });

  it('has SiLU and SwiGLU gradients that match finite differences', () => {
    const h = referenceHarness();
    const rand = seeded(5);
    const n = 23;
    const x = randomValues(rand, n, -6, 6);
    const up = randomValues(rand, n, -2, 2);
    const dy = randomValues(rand, n);
    const silu = (v: number) => v / (1 + Math.exp(-v));
    const fdSilu = numericGradient((p) => dot(dy, Array.from(p, silu)), x);
    expect(relL2(h.values(h.k.siluBackward(h.f32([n], x), h.f32([n], dy))), fdSilu)).toBeLessThan(1e-6);
    const { dGate, dUp } = h.k.swigluBackward(h.f32([n], x), h.f32([n], up), h.f32([n], dy));
    const fdGate = numericGradient(
      (p) =>
        dot(
          dy,
          Array.from(p, (v, i) => silu(v) * up[i]),
        ),
      x,
    );
    const fdUp = numericGradient(
      (p) =>
        dot(
          dy,
          Array.from(p, (v, i) => silu(x[i]) * v),
        ),
      up,
    );
    expect(relL2(h.values(dGate), fdGate)).toBeLessThan(1e-6);
    expect(relL2(h.values(dUp), fdUp)).toBeLessThan(1e-6);
  });
});
