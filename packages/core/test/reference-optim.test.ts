import { describe, expect, it } from 'vitest';
import { Tensor, philox4x32, selectionKey } from '@lorafuse/core';
import { codeOf, maxRelDiff, randomValues, referenceHarness, seeded } from './reference-oracle.js';

describe('reference adamwStep', () => {
  it('matches a hand-computed first step', () => {
    const h = referenceHarness();
    const [p, g, m, v] = [h.f32([1], [1]), h.f32([1], [0.5]), h.f32([1], [0]), h.f32([1], [0])];
    h.k.adamwStep(p, g, m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0.1, step: 1 });
    // Decay: 1 · (1 − 0.01) = 0.99; bias-corrected m̂ = 0.5, v̂ = 0.25, so the step is lr · 0.5 / 0.5.
    expect(Math.abs(h.values(p)[0] - 0.89)).toBeLessThan(1e-7);
    expect(Math.abs(h.values(m)[0] - 0.05)).toBeLessThan(1e-8);
    expect(Math.abs(h.values(v)[0] - 0.00025)).toBeLessThan(1e-10);
  });

  it('follows torch.optim.AdamW over 3 steps (hand-unrolled, state rounded to f32 each step)', () => {
    const h = referenceHarness();
    const rand = seeded(21);
    const n = 17;
    const [lr, beta1, beta2, eps, weightDecay, gradScale] = [0.01, 0.8, 0.95, 1e-6, 0.05, 0.5];
    let p = randomValues(rand, n);
    let m = new Float64Array(n);
    let v = new Float64Array(n);
    const grads = [0, 1, 2].map(() => randomValues(rand, n, -0.2, 0.2));
    const [ph, mh, vh] = [h.f32([n], p), h.f32([n], m), h.f32([n], v)];
    grads.forEach((grad, i) => {
      const step = i + 1;
      h.k.adamwStep(ph, h.f32([n], grad), mh, vh, { lr, beta1, beta2, eps, weightDecay, step, gradScale });
      // torch: param.mul_(1 - lr*wd); exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      // denom = (exp_avg_sq.sqrt() / sqrt(1 - beta2^t)).add_(eps); param.addcdiv_(exp_avg, denom, -lr / (1 - beta1^t)).
      const g = grad.map((x) => gradScale * x);
      p = p.map((x) => x * (1 - lr * weightDecay));
      m = m.map((x, j) => x + (1 - beta1) * (g[j] - x));
      v = v.map((x, j) => x * beta2 + (1 - beta2) * g[j] * g[j]);
      const denom = v.map((x) => Math.sqrt(x) / Math.sqrt(1 - beta2 ** step) + eps);
      p = p.map((x, j) => x - (lr / (1 - beta1 ** step)) * (m[j] / denom[j]));
      [p, m, v] = [p, m, v].map((a) => a.map(Math.fround));
    });
    expect(maxRelDiff(h.values(ph), p)).toBeLessThan(2e-7);
    expect(maxRelDiff(h.values(mh), m)).toBeLessThan(2e-7);
    expect(maxRelDiff(h.values(vh), v)).toBeLessThan(2e-7);
  });

  it('with a guard, clips by the device norm as clip_grad_norm_ does, and skips on a non-finite norm or loss', () => {
    const h = referenceHarness();
    const rand = seeded(5);
    const n = 11;
    const options = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3 };
    const start = [randomValues(rand, n), randomValues(rand, n, -0.1, 0.1), randomValues(rand, n, 0, 1e-3)];
    const grad = randomValues(rand, n, -0.5, 0.5);
    const run = (gradScale: number, guard?: { norm: number; loss: number; maxNorm?: number }) => {
      const [p, m, v] = start.map((values) => h.f32([n], values));
      const g = h.f32([n], grad);
      const deviceGuard = guard && { norm: h.f32([], [guard.norm]), loss: h.f32([], [guard.loss]), ...(guard.maxNorm ? { maxNorm: guard.maxNorm } : {}) };
      h.k.adamwStep(p, g, m, v, { ...options, gradScale, ...(deviceGuard ? { guard: deviceGuard } : {}) });
      return [p, m, v].map((t) => [...h.values(t)]);
    };
    // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when below 1.
    expect(run(1, { norm: 4, loss: 1.5, maxNorm: 2 })).toEqual(run(2 / (4 + 1e-6)));
    expect(run(0.5, { norm: 0.25, loss: 1.5, maxNorm: 2 })).toEqual(run(0.5));
    expect(run(1, { norm: 40, loss: 1.5 })).toEqual(run(1));
    const unchanged = start.map((values) => [...Float32Array.from(values)]);
    for (const [norm, loss] of [
      [Number.NaN, 1],
      [Number.POSITIVE_INFINITY, 1],
      [1, Number.NEGATIVE_INFINITY],
      [1, Number.NaN],
    ]) {
      expect(run(1, { norm, loss, maxNorm: 1 })).toEqual(unchanged);
    }
    expect(run(1, { norm: 1, loss: 1, maxNorm: 1 })).not.toEqual(unchanged);
  });

  it('rejects bad hyper-parameters', () => {
    const h = referenceHarness();
    const t = () => h.f32([2], [1, 2]);
    const ok = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 };
    for (const bad of [{ step: 0 }, { step: 1.5 }, { beta1: 1 }, { lr: -1 }, { eps: NaN }, { gradScale: Infinity }]) {
      expect(codeOf(() => h.k.adamwStep(t(), t(), t(), t(), { ...ok, ...bad }))).toBe('INVALID_OPTION');
    }
    expect(codeOf(() => h.k.adamwStep(t(), t(), h.f32([1], [0]), t(), ok))).toBe('SHAPE_MISMATCH');
    const one = () => h.f32([], [1]);
    expect(codeOf(() => h.k.adamwStep(t(), t(), t(), t(), { ...ok, guard: { norm: t(), loss: one() } }))).toBe('SHAPE_MISMATCH');
    for (const maxNorm of [0, -1, Infinity, NaN])
      expect(codeOf(() => h.k.adamwStep(t(), t(), t(), t(), { ...ok, guard: { norm: one(), loss: one(), maxNorm } }))).toBe('INVALID_OPTION');
  });
});

/** Importance from the definition: the full W = B·A, then the two sums with sign(0) = 0. */
function naiveImportance(a: ArrayLike<number>, b: ArrayLike<number>, n: ArrayLike<number>, r: number, inF: number, outF: number) {
  const W = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < r; k++) s += b[i * r + k] * a[k * inF + j];
    return s;
  };
  const ia = new Float64Array(r * inF);
  const ib = new Float64Array(outF * r);
  for (let k = 0; k < r; k++)
    for (let j = 0; j < inF; j++) {
      let s = 0;
      for (let i = 0; i < outF; i++) s += Math.sign(W(i, j)) * b[i * r + k];
      ia[k * inF + j] = n[j] * Math.abs(s);
    }
  for (let i = 0; i < outF; i++)
    for (let k = 0; k < r; k++) {
      let s = 0;
      for (let j = 0; j < inF; j++) s += Math.sign(W(i, j)) * a[k * inF + j] * n[j];
      ib[i * r + k] = Math.abs(s);
    }
  return { ia, ib };
}

describe('reference loraImportance', () => {
  it('matches a hand-computed example, with sign(0) = 0', () => {
    const h = referenceHarness();
    // A = [[1, −1]], B = [[1], [1]] → W = [[1, −1], [1, −1]]; n = [2, 3].
    let res = h.k.loraImportance(h.f32([1, 2], [1, -1]), h.f32([2, 1], [1, 1]), h.f32([2], [2, 3]));
    expect([...h.values(res.a)]).toEqual([4, 6]);
    expect([...h.values(res.b)]).toEqual([5, 5]);
    // A = [[1, 0]], B = [[1], [−1]] → W = [[1, 0], [−1, 0]]: the zero column contributes nothing.
    res = h.k.loraImportance(h.f32([1, 2], [1, 0]), h.f32([2, 1], [1, -1]), h.f32([2], [2, 3]));
    expect([...h.values(res.a)]).toEqual([4, 0]);
    expect([...h.values(res.b)]).toEqual([2, 2]);
  });

  it('matches the definition on random factors with exact zeros in W', () => {
    const h = referenceHarness();
    const rand = seeded(31);
    const [r, inF, outF] = [3, 11, 7];
    const quarter = (n: number) => Float64Array.from({ length: n }, () => Math.floor(rand() * 7 - 3) / 4);
    const a = quarter(r * inF);
    const b = quarter(outF * r);
    const n = randomValues(rand, inF, 0.1, 2);
    const { ia, ib } = naiveImportance(a, b, n, r, inF, outF);
    const res = h.k.loraImportance(h.f32([r, inF], a), h.f32([outF, r], b), h.f32([inF], n));
    expect(maxRelDiff(h.values(res.a), ia)).toBeLessThan(1e-7);
    expect(maxRelDiff(h.values(res.b), ib)).toBeLessThan(1e-7);
    expect(codeOf(() => h.k.loraImportance(h.f32([r, inF], a), h.f32([outF, r + 1], new Float64Array(outF * (r + 1))), h.f32([inF], n)))).toBe(
      'SHAPE_MISMATCH',
    );
  });
});

/** The selection order from its definition, by sorting: NaN lowest, −0 = +0, ties by lower index. */
function sortedMask(scores: ArrayLike<number>, k: number): number[] {
  const rank = (x: number) => (Number.isNaN(x) ? -Infinity : x);
  const order = Array.from(scores, (_, i) => i).sort((i, j) => {
    const [a, b] = [scores[i], scores[j]];
    if (Number.isNaN(a) !== Number.isNaN(b)) return Number.isNaN(a) ? -1 : 1;
    return rank(a) - rank(b) || i - j;
  });
  const mask = new Array<number>(scores.length).fill(0);
  for (const i of order.slice(0, k)) mask[i] = 1;
  return mask;
}

describe('reference bottomKMask', () => {
  it('prunes NaN first, treats -0 as +0 and breaks ties by lower index', () => {
    const h = referenceHarness();
    // Order: NaN(2), −0(4), 0(5), 1(1), 1(3), 2(6), 3(0).
    const mask = h.read(h.k.bottomKMask(h.f32([1, 7], [3, 1, NaN, 1, -0, 0, 2]), 4));
    expect(mask.dtype).toBe('u8');
    expect([...mask.data]).toEqual([0, 1, 1, 0, 1, 1, 0]);
    // −Inf is above NaN; the tie at 1 goes to index 1 first.
    expect([...h.read(h.k.bottomKMask(h.f32([1, 4], [1, -Infinity, 1, NaN]), 3)).data]).toEqual([1, 1, 0, 1]);
  });

  it.each([
    ['few levels (heavy ties)', (r: () => number) => Math.floor(r() * 4) / 2],
    ['specials', (r: () => number) => [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 2.5, -2.5][Math.floor(r() * 9)]],
    ['spread', (r: () => number) => Math.fround((r() - 0.5) * 1e6)],
  ] as const)('agrees with a sort-based selection per group: %s', (_, draw) => {
    const h = referenceHarness();
    const rand = seeded(41);
    const [groups, n] = [4, 53];
    const scores = Float32Array.from({ length: groups * n }, () => draw(rand));
    for (const k of [0, 1, 17, 52, 53]) {
      const expected = Array.from({ length: groups }, (_, g) => sortedMask(scores.subarray(g * n, (g + 1) * n), k)).flat();
      expect([...h.read(h.k.bottomKMask(h.f32([groups, n], scores), k)).data]).toEqual(expected);
    }
  });

  it('rejects k outside [0, n] and scores that are not [G, n]', () => {
    const h = referenceHarness();
    expect(codeOf(() => h.k.bottomKMask(h.f32([1, 3], [1, 2, 3]), 4))).toBe('INVALID_OPTION');
    expect(codeOf(() => h.k.bottomKMask(h.f32([1, 3], [1, 2, 3]), -1))).toBe('INVALID_OPTION');
    expect(codeOf(() => h.k.bottomKMask(h.f32([3], [1, 2, 3]), 1))).toBe('SHAPE_MISMATCH');
  });

  it('orders values through selectionKey as unsigned integers', () => {
    const values = [NaN, -Infinity, -3, -1e-45, -0, 0, 1e-45, 2, Infinity];
    const keys = values.map(selectionKey);
    expect(keys[0]).toBe(0);
    expect(keys[4]).toBe(keys[5]);
    for (let i = 1; i < keys.length; i++) if (i !== 5) expect(keys[i]).toBeGreaterThan(keys[i - 1]);
  });
});

describe('reference maskApply', () => {
  it('zeroes or resets the masked entries in place, any non-zero byte counting as pruned', () => {
    const h = referenceHarness();
    const param = h.f32([2, 3], [1, 2, 3, 4, 5, 6]);
    const mask = h.backend.upload(new Tensor('u8', [1, 6], Uint8Array.from([1, 0, 255, 0, 0, 7])));
    h.k.maskApply(param, mask);
    expect([...h.values(param)]).toEqual([0, 2, 0, 4, 5, 0]);
    h.k.maskApply(param, mask, h.f32([2, 3], [-1, -2, -3, -4, -5, -6]));
    expect([...h.values(param)]).toEqual([-1, 2, -3, 4, 5, -6]);
    expect(codeOf(() => h.k.maskApply(param, h.backend.upload(new Tensor('u8', [5]))))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => h.k.maskApply(param, h.f32([6], [0, 0, 0, 0, 0, 0])))).toBe('DTYPE_MISMATCH');
  });
});

describe('reference random kernels', () => {
  it('implements Philox4x32-10: the Random123 known-answer vectors', () => {
    // Random123 tests/kat_vectors, the three "philox4x32 10" lines: counter[4] key[2] -> output[4].
    expect(philox4x32([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    expect(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])).toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });

  const uniformAt = (seed: number, stream: number, c: number) => (philox4x32([c % 2 ** 32, Math.floor(c / 2 ** 32), 0, 0], [seed, stream])[0] >>> 8) / 2 ** 24;

  it('draws uniforms as word 0 of Philox(counter = index, key = [seed, stream]), across the 2^32 counter boundary', () => {
    const h = referenceHarness();
    const offset = 2 ** 32 - 2;
    const u = h.values(h.k.randomUniform([2, 2], { seed: 1234, stream: 5, offset }));
    expect([...u]).toEqual([0, 1, 2, 3].map((i) => uniformAt(1234, 5, offset + i)));
    expect(u.every((x) => x >= 0 && x < 1)).toBe(true);
    const other = h.values(h.k.randomUniform([4], { seed: 1234, stream: 6, offset }));
    expect([...other]).not.toEqual([...u]);
  });

  it('draws normals by Box-Muller on consecutive pairs, continuing the stream from any offset', () => {
    const h = referenceHarness();
    const z = (c: number) => {
      const p = c - (c % 2);
      const rho = Math.sqrt(-2 * Math.log(1 - uniformAt(7, 1, p)));
      const theta = 2 * Math.PI * uniformAt(7, 1, p + 1);
      return c % 2 === 0 ? rho * Math.cos(theta) : rho * Math.sin(theta);
    };
    const whole = h.values(h.k.randomNormal([9], { seed: 7, stream: 1, mean: 1, std: 2 }));
    expect(
      maxRelDiff(
        whole,
        Array.from({ length: 9 }, (_, c) => 1 + 2 * z(c)),
      ),
    ).toBeLessThan(1e-6);
    const tail = h.values(h.k.randomNormal([4], { seed: 7, stream: 1, mean: 1, std: 2, offset: 5 }));
    expect([...tail]).toEqual([...whole.slice(5)]);
  });

  it('has roughly the right moments on 2^16 draws', () => {
    const h = referenceHarness();
    const n = 2 ** 16;
    const z = h.values(h.k.randomNormal([n], { seed: 99, stream: 0 }));
    const mean = z.reduce((a, b) => a + b, 0) / n;
    const variance = z.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });

  it('rejects seeds and streams outside u32 and bad offsets', () => {
    const h = referenceHarness();
    expect(codeOf(() => h.k.randomUniform([2], { seed: 2 ** 32, stream: 0 }))).toBe('INVALID_OPTION');
    expect(codeOf(() => h.k.randomUniform([2], { seed: 1, stream: -1 }))).toBe('INVALID_OPTION');
    expect(codeOf(() => h.k.randomNormal([2], { seed: 1, stream: 0, offset: 0.5 }))).toBe('INVALID_OPTION');
    expect(codeOf(() => h.k.randomNormal([2], { seed: 1, stream: 0, std: NaN }))).toBe('INVALID_OPTION');
    expect(codeOf(() => h.k.randomUniform([-1], { seed: 1, stream: 0 }))).toBe('SHAPE_MISMATCH');
  });
});

describe('reference reductions', () => {
  it('sums, sums squares per column and takes the global norm', () => {
    const h = referenceHarness();
    const x = h.f32([3, 2], [1, 2, 3, 4, 5, 6]);
    expect(h.values(h.k.sum(x))[0]).toBe(21);
    expect(h.read(h.k.sum(x)).shape).toEqual([]);
    expect([...h.values(h.k.columnSumSquares(x))]).toEqual([1 + 9 + 25, 4 + 16 + 36]);
    expect(h.values(h.k.globalNorm([x, h.f32([1], [9])]))[0]).toBeCloseTo(Math.sqrt(91 + 81), 5);
    expect(h.values(h.k.sum(h.f32([0], [])))[0]).toBe(0);
    expect(h.values(h.k.globalNorm([]))[0]).toBe(0);
    expect([...h.values(h.k.columnSumSquares(h.f32([0, 2], [])))]).toEqual([0, 0]);
  });

  it('accumulates 2^20 + 1 values without f32 drift and propagates NaN', () => {
    const h = referenceHarness();
    // 0.1 is not exact in binary: a naive f32 running sum drifts far more than 1e-6.
    const n = 2 ** 20 + 1;
    const tenth = Math.fround(0.1);
    expect(Math.abs(h.values(h.k.sum(h.f32([n], new Float32Array(n).fill(tenth))))[0] - n * tenth) / (n * tenth)).toBeLessThan(1e-7);
    expect(Number.isNaN(h.values(h.k.sum(h.f32([3], [1, NaN, 2])))[0])).toBe(true);
    const cols = h.values(h.k.columnSumSquares(h.f32([2, 2], [1, NaN, 3, 4])));
    expect(cols[0]).toBe(10);
    expect(Number.isNaN(cols[1])).toBe(true);
  });
});

describe('reference layout kernels', () => {
  it('permutes like torch.permute, for any dtype', () => {
    const h = referenceHarness();
    const shape = [2, 3, 4];
    const values = Array.from({ length: 24 }, (_, i) => i);
    const out = h.read(h.k.permute(h.backend.upload(new Tensor('i32', shape, Int32Array.from(values))), [2, 0, 1]));
    expect(out.shape).toEqual([4, 2, 3]);
    // out[i][j][k] = in[j][k][i].
    for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 3; k++) expect(out.data[(i * 2 + j) * 3 + k]).toBe(values[(j * 3 + k) * 4 + i]);
    expect(codeOf(() => h.k.permute(h.f32([2, 2], [1, 2, 3, 4]), [1]))).toBe('INVALID_OPTION');
  });

  it('reshapes without changing the elements', () => {
    const h = referenceHarness();
    const out = h.read(h.k.reshape(h.backend.upload(new Tensor('u8', [2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6]))), [3, 1, 2]));
    expect(out.shape).toEqual([3, 1, 2]);
    expect([...out.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(codeOf(() => h.k.reshape(h.f32([2, 2], [1, 2, 3, 4]), [3]))).toBe('SHAPE_MISMATCH');
  });
});
