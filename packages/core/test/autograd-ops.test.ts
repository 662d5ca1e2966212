// Every differentiable op's gradient (through the Tape) against central
// finite differences of a float64 forward pass written here. The scalar
// differentiated is L = Σ w ⊙ op(inputs) for random weights w.
import { describe, expect, it } from 'vitest';
import { ReferenceBackend, Tape, Tensor, ops, philox4x32, type DeviceTensor, type DropoutOptions, type Shape } from '@lorafuse/core';
import { dot, naiveAttention, naiveRmsNorm, numericGradient, randomValues, relL2, seeded } from './reference-oracle.js';

type F64 = Float64Array;
const size = (s: Shape) => s.reduce((n, d) => n * d, 1);

/** op(a)·op(b) with batch dimensions on both sides or on one (shared by every batch). */
function naiveMatmul(a: F64, as: Shape, b: F64, bs: Shape, tA = false, tB = false): F64 {
  const [ar, ac] = as.slice(-2);
  const [br, bc] = bs.slice(-2);
  const [m, k] = tA ? [ac, ar] : [ar, ac];
  const n = tB ? br : bc;
  const batch = Math.max(size(as.slice(0, -2)), size(bs.slice(0, -2)));
  const aStride = as.length > 2 ? ar * ac : 0;
  const bStride = bs.length > 2 ? br * bc : 0;
  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++)
          s += (tA ? a[t * aStride + p * m + i] : a[t * aStride + i * k + p]) * (tB ? b[t * bStride + j * k + p] : b[t * bStride + p * n + j]);
        out[(t * m + i) * n + j] = s;
      }
  return out;
}

/** `a ⊙ b` or `a + b` with `b` repeated over `a`'s leading dimensions. */
const broadcast = (a: F64, b: F64, f: (x: number, y: number) => number) => a.map((x, i) => f(x, b[i % b.length]));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** x [B, H, S, D] with tables [S, D]: x·cos + rotate_half(x)·sin. */
function naiveRope(x: F64, cos: F64, sin: F64, d: number): F64 {
  const half = d / 2;
  const table = cos.length;
  return x.map((v, i) => {
    const c = i % d;
    const other = c < half ? -x[i + half] : x[i - half];
    return v * cos[i % table] + other * sin[i % table];
  });
}

/** Mean cross-entropy over the rows whose target is not −100. */
function naiveCrossEntropy(logits: F64, targets: number[], V: number): F64 {
  let total = 0;
  let count = 0;
  targets.forEach((t, r) => {
    if (t === -100) return;
    const row = logits.subarray(r * V, (r + 1) * V);
    const max = Math.max(...row);
    total += max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) - row[t];
    count++;
  });
  return Float64Array.of(total / count);
}

/** Whether dropout keeps element `i`: the uniform at counter `offset + i` (Philox word 0, top 24 bits) is at least `p`. */
function kept({ seed, stream, offset = 0, p }: DropoutOptions, i: number): boolean {
  const c = offset + i;
  return philox4x32([c % 2 ** 32, Math.floor(c / 2 ** 32), 0, 0], [seed, stream])[0] >>> 8 >= p * 2 ** 24;
}

/** torch.permute of a row-major tensor. */
function naivePermute(x: F64, shape: Shape, axes: number[]): F64 {
  const outShape = axes.map((a) => shape[a]);
  const strides = shape.map((_, i) => size(shape.slice(i + 1)));
  const out = new Float64Array(x.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let rest = o;
    for (let i = outShape.length - 1; i >= 0; i--) {
      idx[i] = rest % outShape[i];
      rest = Math.floor(rest / outShape[i]);
    }
    out[o] = x[axes.reduce((s, a, i) => s + idx[i] * strides[a], 0)];
  }
  return out;
}

interface GradCase {
  /** Input shapes (f32, uploaded with random values). */
  shapes: Shape[];
  /** Indices of the inputs to watch (default: all). */
  watch?: number[];
  /** The op under test on the tape. */
  op: (tape: Tape, x: DeviceTensor[]) => DeviceTensor;
  /** The same function in float64. */
  naive: (x: F64[]) => F64;
  /** Range of the random inputs (default [-1, 1)). */
  range?: [number, number];
}

/** Tape gradients of Σ w ⊙ op(x) against finite differences; returns the worst relative L2 error. */
function gradientError({ shapes, watch = shapes.map((_, i) => i), op, naive, range = [-1, 1] }: GradCase, seed = 7): number {
  const rand = seeded(seed);
  const values = shapes.map((s) => randomValues(rand, size(s), ...range));
  const backend = new ReferenceBackend();
  const inputs = values.map((v, i) => backend.upload(Tensor.f32(shapes[i], v)));
  const tape = new Tape(backend);
  tape.watch(...watch.map((i) => inputs[i]));
  const y = op(tape, inputs);
  const w = randomValues(rand, y.size);
  const grads = tape.backward(ops.sum(tape, ops.mul(tape, y, tape.constant(Tensor.f32(y.shape, w)))));
  let worst = 0;
  for (const i of watch) {
    const numeric = numericGradient((p) => dot(w, naive(values.map((v, j) => (j === i ? p : v)))), values[i]);
    const g = grads.get(inputs[i]);
    expect(g, `gradient of input ${i}`).toBeDefined();
    expect([...g!.shape]).toEqual([...shapes[i]]);
    worst = Math.max(worst, relL2(backend.readSync(g!).toFloat32(), numeric));
    backend.free(g!);
  }
  expect(grads.size).toBe(watch.length);
  // Everything but the inputs was freed by backward (and the gradients above by the test).
  expect(backend.memory().tensors).toBe(inputs.length);
  return worst;
}

// f32 kernels against float64 differences: the error is f32 rounding (~1e-7), far below this.
const TOL = 1e-5;

describe('op gradients against float64 finite differences', () => {
  const matmulCases: Array<[string, Shape, Shape, boolean, boolean]> = [
    ['2-D', [3, 4], [4, 5], false, false],
    ['transA', [4, 3], [4, 5], true, false],
    ['transB', [3, 4], [5, 4], false, true],
    ['transA·transB', [4, 3], [5, 4], true, true],
    ['batched', [2, 3, 4], [2, 4, 5], false, false],
    ['batched, transA and transB', [2, 4, 3], [2, 5, 4], true, true],
    ['shared b (a Linear weight)', [2, 3, 4], [5, 4], false, true],
    ['shared b with transA', [2, 4, 3], [4, 5], true, false],
    ['shared a', [3, 4], [2, 4, 5], false, false],
    ['shared a with transA and transB', [4, 3], [2, 5, 4], true, true],
  ];
  it.each(matmulCases)('matmul %s', (_, as, bs, transA, transB) => {
    const err = gradientError({
      shapes: [as, bs],
      op: (t, [a, b]) => ops.matmul(t, a, b, { transA, transB }),
      naive: ([a, b]) => naiveMatmul(a, as, b, bs, transA, transB),
    });
    expect(err).toBeLessThan(TOL);
  });

  const lora = (x: F64, w0: F64, a: F64, b: F64, s: number) => {
    const base = naiveMatmul(x, [6, 4], w0, [5, 4], false, true);
    const up = naiveMatmul(naiveMatmul(x, [6, 4], a, [2, 4], false, true), [6, 2], b, [5, 2], false, true);
    return base.map((v, i) => v + s * up[i]);
  };
  it.each([
    ['every input', [0, 1, 2, 3]],
    ['frozen base weight (LoRA training)', [0, 2, 3]],
    ['the factors only', [2, 3]],
  ])('loraLinear, trained: %s', (_, watch) => {
    const err = gradientError({
      shapes: [
        [2, 3, 4],
        [5, 4],
        [2, 4],
        [5, 2],
      ],
      watch,
      op: (t, [x, w0, a, b]) => ops.loraLinear(t, x, w0, a, b, 1.7),
      naive: ([x, w0, a, b]) => lora(x, w0, a, b, 1.7),
    });
    expect(err).toBeLessThan(TOL);
  });

  it.each([
    ['same shapes', [2, 3], [2, 3], [0, 1]],
    ['a bias over rows', [2, 3, 4], [4], [0, 1]],
    ['only b trained', [2, 3], [2, 3], [1]],
    ['only a bias trained', [3, 4], [4], [1]],
  ] as Array<[string, Shape, Shape, number[]]>)('add: %s', (_, as, bs, watch) => {
    expect(gradientError({ shapes: [as, bs], watch, op: (t, [a, b]) => ops.add(t, a, b), naive: ([a, b]) => broadcast(a, b, (x, y) => x + y) })).toBeLessThan(
      TOL,
    );
  });

  it.each([
    ['same shapes', [2, 3], [2, 3]],
    ['broadcast over rows', [2, 3, 4], [3, 4]],
  ] as Array<[string, Shape, Shape]>)('mul: %s', (_, as, bs) => {
    expect(gradientError({ shapes: [as, bs], op: (t, [a, b]) => ops.mul(t, a, b), naive: ([a, b]) => broadcast(a, b, (x, y) => x * y) })).toBeLessThan(TOL);
  });

  it('a tensor used twice accumulates both gradients (x ⊙ x + x)', () => {
    const err = gradientError({ shapes: [[3, 4]], op: (t, [x]) => ops.add(t, ops.mul(t, x, x), x), naive: ([x]) => x.map((v) => v * v + v) });
    expect(err).toBeLessThan(TOL);
  });

  it('scale, silu and swiglu', () => {
    expect(gradientError({ shapes: [[3, 5]], op: (t, [x]) => ops.scale(t, x, -2.5), naive: ([x]) => x.map((v) => -2.5 * v) })).toBeLessThan(TOL);
    expect(gradientError({ shapes: [[3, 5]], op: (t, [x]) => ops.silu(t, x), naive: ([x]) => x.map((v) => v * sigmoid(v)), range: [-4, 4] })).toBeLessThan(TOL);
    const err = gradientError({
      shapes: [
        [2, 3, 4],
        [2, 3, 4],
      ],
      op: (t, [g, u]) => ops.swiglu(t, g, u),
      naive: ([g, u]) => g.map((v, i) => v * sigmoid(v) * u[i]),
      range: [-3, 3],
    });
    expect(err).toBeLessThan(TOL);
  });

  it('geglu and softcap', () => {
    const c = Math.sqrt(2 / Math.PI);
    const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3)));
    const err = gradientError({
      shapes: [
        [2, 3, 4],
        [2, 3, 4],
      ],
      op: (t, [g, u]) => ops.geglu(t, g, u),
      naive: ([g, u]) => g.map((v, i) => gelu(v) * u[i]),
      range: [-4, 4],
    });
    expect(err).toBeLessThan(TOL);
    const capped = gradientError({
      shapes: [[3, 7]],
      op: (t, [x]) => ops.softcap(t, x, 2.5),
      naive: ([x]) => x.map((v) => 2.5 * Math.tanh(v / 2.5)),
      range: [-6, 6],
    });
    expect(capped).toBeLessThan(TOL);
  });

  it('split of the last dimension (a fused projection), all parts used or some unused', () => {
    // Three equal parts weighted 1, 2, 3 and summed: every part's gradient is joined back.
    const all = gradientError({
      shapes: [[2, 3, 9]],
      op: (t, [x]) => {
        const [a, b, c] = ops.split(t, x, [3, 3, 3]);
        return ops.add(t, ops.add(t, a, ops.scale(t, b, 2)), ops.scale(t, c, 3));
      },
      naive: ([x]) =>
        Float64Array.from(
          { length: 18 },
          (_, i) => x[Math.floor(i / 3) * 9 + (i % 3)] + 2 * x[Math.floor(i / 3) * 9 + 3 + (i % 3)] + 3 * x[Math.floor(i / 3) * 9 + 6 + (i % 3)],
        ),
    });
    expect(all).toBeLessThan(TOL);
    // Only the last of unequal parts: the others get zeros.
    const last = gradientError({
      shapes: [[2, 3, 9]],
      op: (t, [x]) => ops.split(t, x, [4, 2, 3])[2],
      naive: ([x]) => Float64Array.from({ length: 18 }, (_, i) => x[Math.floor(i / 3) * 9 + 6 + (i % 3)]),
    });
    expect(last).toBeLessThan(TOL);
  });

  it('rmsNorm (input and weight)', () => {
    const err = gradientError({
      shapes: [[2, 3, 8], [8]],
      op: (t, [x, w]) => ops.rmsNorm(t, x, w, 1e-5),
      naive: ([x, w]) => naiveRmsNorm(x, w, w.length, 1e-5),
    });
    expect(err).toBeLessThan(TOL);
  });

  it('rope (tables are constants)', () => {
    const rand = seeded(3);
    const cos = randomValues(rand, 3 * 4);
    const sin = randomValues(rand, 3 * 4);
    const err = gradientError({
      shapes: [[2, 2, 3, 4]],
      op: (t, [x]) => ops.rope(t, x, t.constant(Tensor.f32([3, 4], cos)), t.constant(Tensor.f32([3, 4], sin))),
      naive: ([x]) => naiveRope(x, cos, sin, 4),
    });
    expect(err).toBeLessThan(TOL);
  });

  it('causal grouped-query attention (q, k and v)', () => {
    const err = gradientError({
      shapes: [
        [1, 4, 5, 6],
        [1, 2, 5, 6],
        [1, 2, 5, 6],
      ],
      op: (t, [q, k, v]) => ops.attention(t, q, k, v),
      naive: ([q, k, v]) => naiveAttention(q, k, v, { b: 1, hq: 4, kv: 2, sq: 5, sk: 5, d: 6 }, 1 / Math.sqrt(6)).out,
      range: [-2, 2],
    });
    expect(err).toBeLessThan(TOL);
    const windowed = gradientError({
      shapes: [
        [1, 4, 7, 6],
        [1, 2, 7, 6],
        [1, 2, 7, 6],
      ],
      op: (t, [q, k, v]) => ops.attention(t, q, k, v, { window: 3 }),
      naive: ([q, k, v]) => naiveAttention(q, k, v, { b: 1, hq: 4, kv: 2, sq: 7, sk: 7, d: 6 }, 1 / Math.sqrt(6), 3).out,
      range: [-2, 2],
    });
    expect(windowed).toBeLessThan(TOL);
  });

  it('cross-entropy with ignored targets', () => {
    const targets = [4, -100, 0, 2, -100, 3];
    const err = gradientError({
      shapes: [[2, 3, 5]],
      op: (t, [logits]) => ops.crossEntropy(t, logits, t.constant(new Tensor('i32', [2, 3], Int32Array.from(targets)))),
      naive: ([logits]) => naiveCrossEntropy(logits, targets, 5),
      range: [-3, 3],
    });
    expect(err).toBeLessThan(TOL);
  });

  it('embedding (repeated ids add up)', () => {
    const ids = [2, 0, 2, 5];
    const err = gradientError({
      shapes: [[6, 3]],
      op: (t, [table]) => ops.embedding(t, t.constant(new Tensor('i32', [2, 2], Int32Array.from(ids))), table),
      naive: ([table]) => Float64Array.from(ids.flatMap((id) => Array.from(table.subarray(id * 3, id * 3 + 3)))),
    });
    expect(err).toBeLessThan(TOL);
  });

  it('reshape, permute and sum', () => {
    expect(gradientError({ shapes: [[2, 6]], op: (t, [x]) => ops.scale(t, ops.reshape(t, x, [3, 4]), 3), naive: ([x]) => x.map((v) => 3 * v) })).toBeLessThan(
      TOL,
    );
    const perm = gradientError({
      shapes: [[2, 3, 4]],
      op: (t, [x]) => ops.scale(t, ops.permute(t, x, [2, 0, 1]), 2),
      naive: ([x]) => naivePermute(x, [2, 3, 4], [2, 0, 1]).map((v) => 2 * v),
    });
    expect(perm).toBeLessThan(TOL);
    expect(
      gradientError({ shapes: [[3, 4]], op: (t, [x]) => ops.scale(t, ops.sum(t, ops.mul(t, x, x)), 0.5), naive: ([x]) => Float64Array.of(0.5 * dot(x, x)) }),
    ).toBeLessThan(TOL);
  });
});

describe('dropout', () => {
  const options: DropoutOptions = { seed: 12, stream: 3, offset: 2 ** 32 - 20, p: 0.3 };
  const scale = Math.fround(1 / (1 - options.p));

  it('has the gradient of x ↦ mask ⊙ x / (1 − p), against finite differences', () => {
    const mask = Array.from({ length: 2 * 3 * 7 }, (_, i) => kept(options, i));
    // Both kinds of element occur, so the test sees kept and dropped gradients.
    expect(mask.some((m) => m) && mask.some((m) => !m)).toBe(true);
    const err = gradientError({
      shapes: [[2, 3, 7]],
      op: (t, [x]) => ops.dropout(t, x, options),
      naive: ([x]) => x.map((v, i) => (mask[i] ? v * scale : 0)),
    });
    expect(err).toBeLessThan(TOL);
  });

  it('passes dy · scale through the kept elements and +0 through the dropped ones, bit for bit', () => {
    const backend = new ReferenceBackend();
    const rand = seeded(5);
    const n = 301;
    const x = backend.upload(Tensor.f32([n], randomValues(rand, n)));
    const w = Float32Array.from(randomValues(rand, n, -3, 3));
    const tape = new Tape(backend);
    tape.watch(x);
    const y = ops.dropout(tape, x, options);
    const forward = backend.readSync(y).data as Float32Array;
    const xs = backend.readSync(x).data as Float32Array;
    const grads = tape.backward(ops.sum(tape, ops.mul(tape, y, tape.constant(Tensor.f32([n], w)))));
    const dx = backend.readSync(grads.get(x)!).data as Float32Array;
    for (let i = 0; i < n; i++) {
      expect(Object.is(forward[i], kept(options, i) ? Math.fround(xs[i] * scale) : 0), `y[${i}]`).toBe(true);
      expect(Object.is(dx[i], kept(options, i) ? Math.fround(w[i] * scale) : 0), `dx[${i}]`).toBe(true);
    }
  });

  it('is the identity for p = 0, in both passes', () => {
    const err = gradientError({ shapes: [[4, 5]], op: (t, [x]) => ops.dropout(t, x, { seed: 1, stream: 1, p: 0 }), naive: ([x]) => x.slice() });
    expect(err).toBeLessThan(TOL);
  });
});
