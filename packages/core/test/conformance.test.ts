import { describe, expect, it } from 'vitest';
import { ReferenceBackend, Tensor, type Backend, type DeviceTensor, type Kernels } from '@lorafuse/core';
import { CONFORMANCE_TOLERANCES, conformanceCases, formatConformanceReport, runConformance, type ConformanceReport } from '@lorafuse/core/testing';

/**
 * A backend that is the reference except for the kernels `override` replaces.
 * The overrides compute deliberately wrong answers on the host (through the
 * reference's synchronous read) and hand them back as device tensors.
 */
function broken(override: (ref: ReferenceBackend) => Partial<Kernels>): () => Promise<Backend> {
  return async () => {
    const ref = new ReferenceBackend();
    return {
      name: 'broken',
      isFallback: false,
      description: 'reference with a deliberately wrong kernel',
      get disposed() {
        return ref.disposed;
      },
      kernels: { ...ref.kernels, ...override(ref) },
      upload: (t) => ref.upload(t),
      read: (t) => ref.read(t),
      free: (t) => ref.free(t),
      sync: () => ref.sync(),
      memory: () => ref.memory(),
      dispose: () => ref.dispose(),
    };
  };
}

/** Replaces a tensor by a host-modified copy for the duration of `use`. */
function withCopy(ref: ReferenceBackend, t: DeviceTensor, edit: (host: Tensor) => Tensor, use: (copy: DeviceTensor) => DeviceTensor): DeviceTensor {
  const copy = ref.upload(edit(ref.readSync(t)));
  try {
    return use(copy);
  } finally {
    ref.free(copy);
  }
}

/** K or V `[B, KV, S, D]` expanded to `heads` heads, head h taken from KV head h % KV (the wrong GQA mapping). */
function expandHeads(ref: ReferenceBackend, t: DeviceTensor, heads: number): DeviceTensor {
  const host = ref.readSync(t);
  const [b, kv, s, d] = host.shape;
  const src = host.data as Float32Array;
  const out = new Float32Array(b * heads * s * d);
  for (let bi = 0; bi < b; bi++) {
    for (let h = 0; h < heads; h++) out.set(src.subarray((bi * kv + (h % kv)) * s * d, (bi * kv + (h % kv) + 1) * s * d), (bi * heads + h) * s * d);
  }
  return ref.upload(new Tensor('f32', [b, heads, s, d], out));
}

const SMALL_CASES = /^(?!.*large)/;
/** A bound for a hung suite (below vitest's test timeout), not for a slow one: every case must run. */
const CONFORMANCE_BUDGET_MS = 240_000;

async function failingKernels(create: () => Promise<Backend>, filter: RegExp = SMALL_CASES): Promise<{ report: ConformanceReport; kernels: Set<string> }> {
  const report = await runConformance(create, { filter, timeBudgetMs: CONFORMANCE_BUDGET_MS });
  expect(report.skipped).toBe(0);
  return { report, kernels: new Set(report.cases.filter((c) => c.status === 'failed').map((c) => c.kernel)) };
}

describe('conformance suite on the reference backend', () => {
  it('passes every case within the time budget', async () => {
    const seen: string[] = [];
    const report = await runConformance(async () => new ReferenceBackend(), { timeBudgetMs: CONFORMANCE_BUDGET_MS, onCase: (c) => seen.push(c.name) });
    expect(report.failed, formatConformanceReport(report)).toBe(0);
    expect(report.skipped).toBe(0);
    expect(report.budgetExhausted).toBe(false);
    expect(report.passed).toBe(conformanceCases().length);
    expect(seen).toHaveLength(report.passed);
    expect(report.backend).toBe('reference');
  });

  it('covers every kernel of the contract, with large cases where size matters', () => {
    const cases = conformanceCases();
    const names = new Set(cases.map((c) => c.name));
    expect(names.size).toBe(cases.length);
    for (const kernel of Object.keys(CONFORMANCE_TOLERANCES))
      expect(
        cases.some((c) => c.kernel === kernel),
        kernel,
      ).toBe(true);
    for (const kernel of [
      'matmul',
      'add',
      'mul',
      'scale',
      'cast',
      'silu',
      'sum',
      'columnSumSquares',
      'globalNorm',
      'bottomKMask',
      'adamwStep',
      'randomUniform',
      'randomNormal',
      'maskApply',
      'sqrt',
      'dropout',
    ]) {
      expect(
        cases.some((c) => c.kernel === kernel && c.large),
        kernel,
      ).toBe(true);
    }
    expect(cases.some((c) => c.kernel === 'memory')).toBe(true);
  });

  it('skips the cases past the time budget, large ones first, and says so', async () => {
    const none = await runConformance(async () => new ReferenceBackend(), { timeBudgetMs: 0, filter: 'matmul/' });
    expect(none.passed + none.failed).toBe(0);
    expect(none.skipped).toBeGreaterThan(0);
    expect(none.budgetExhausted).toBe(true);
    expect(none.cases.every((c) => c.status === 'skipped' && /time budget of 0 ms/.test(c.error ?? ''))).toBe(true);
    expect(formatConformanceReport(none)).toMatch(/time budget of 0 ms exhausted/);
    const ordered = await runConformance(async () => new ReferenceBackend(), { filter: /^(matmul|sum)\// });
    const firstLarge = ordered.cases.findIndex((c) => c.name.includes('large'));
    expect(firstLarge).toBeGreaterThan(0);
    expect(ordered.cases.slice(firstLarge).every((c) => c.name.includes('large'))).toBe(true);
  });

  it('filters by substring or pattern', async () => {
    const report = await runConformance(async () => new ReferenceBackend(), { filter: 'rope/' });
    expect(report.cases.length).toBeGreaterThan(0);
    expect(report.cases.every((c) => c.name.startsWith('rope/'))).toBe(true);
  });
});

describe('conformance suite catches wrong kernels', () => {
  it('an off-by-one matmul that skips the last k term', async () => {
    const { kernels } = await failingKernels(
      broken((ref) => ({
        matmul: (a, b, options = {}) =>
          withCopy(
            ref,
            a,
            (host) => {
              const data = (host.data as Float32Array).slice();
              const [rows, cols] = host.shape.slice(-2);
              const batches = data.length / Math.max(rows * cols, 1);
              // Zero the last k of op(a): the last column, or the last row when transposed.
              for (let t = 0; t < batches; t++) {
                for (let i = 0; i < (options.transA ? cols : rows); i++) {
                  data[t * rows * cols + (options.transA ? (rows - 1) * cols + i : i * cols + cols - 1)] = 0;
                }
              }
              return new Tensor('f32', host.shape, data);
            },
            (copy) => ref.kernels.matmul(copy, b, options),
          ),
      })),
    );
    expect([...kernels]).toEqual(['matmul']);
  });

  it('a matmul that ignores transB', async () => {
    const { report, kernels } = await failingKernels(
      broken((ref) => ({
        matmul: (a, b, options = {}) => {
          if (!options.transB) return ref.kernels.matmul(a, b, options);
          // Reads b's [N, K] storage as if it were [K, N].
          return withCopy(
            ref,
            b,
            (host) => new Tensor(host.dtype, [...host.shape.slice(0, -2), host.shape[host.shape.length - 1], host.shape[host.shape.length - 2]], host.data),
            (copy) => ref.kernels.matmul(a, copy, { ...options, transB: false }),
          );
        },
      })),
    );
    expect([...kernels]).toEqual(['matmul']);
    expect(report.cases.find((c) => c.name === 'matmul/transB 33x47x21')?.status).toBe('failed');
  });

  it('an add that maps NaN to 0', async () => {
    const { report, kernels } = await failingKernels(
      broken((ref) => ({
        add: (a, b) => {
          const sum = ref.kernels.add(a, b);
          const data = (ref.readSync(sum).data as Float32Array).map((v) => (Number.isNaN(v) ? 0 : v));
          ref.free(sum);
          return ref.upload(new Tensor('f32', sum.shape, data));
        },
      })),
    );
    expect([...kernels]).toEqual(['add']);
    expect(report.cases.find((c) => c.name === 'add/NaN and infinities propagate')?.error).toMatch(/element 0 is 0, the reference has NaN/);
  });

  it('a selection that breaks ties by the higher index', async () => {
    const { report, kernels } = await failingKernels(
      broken((ref) => ({
        bottomKMask: (scores, k) => {
          const host = ref.readSync(scores);
          const [groups, n] = host.shape;
          const values = host.data as Float32Array;
          const mask = new Uint8Array(groups * n);
          const key = (v: number) => (Number.isNaN(v) ? -Infinity : v);
          for (let g = 0; g < groups; g++) {
            const order = Array.from({ length: n }, (_, i) => g * n + i).sort((i, j) => key(values[i]) - key(values[j]) || j - i);
            for (const i of order.slice(0, k)) mask[i] = 1;
          }
          return ref.upload(new Tensor('u8', host.shape, mask));
        },
      })),
    );
    expect([...kernels]).toEqual(['bottomKMask']);
    expect(report.cases.find((c) => c.name.startsWith('bottomKMask/ties'))?.status).toBe('failed');
    expect(report.cases.find((c) => c.name.startsWith('bottomKMask/distinct'))?.status).toBe('passed');
  });

  it('a GQA attention that maps query head h to KV head h % KV', async () => {
    const { report, kernels } = await failingKernels(
      broken((ref) => ({
        attention: (q, k, v, options) => {
          if (k.shape[1] === 0) return ref.kernels.attention(q, k, v, options);
          const [k2, v2] = [expandHeads(ref, k, q.shape[1]), expandHeads(ref, v, q.shape[1])];
          try {
            return ref.kernels.attention(q, k2, v2, options);
          } finally {
            ref.free(k2);
            ref.free(v2);
          }
        },
      })),
      /^attention/,
    );
    expect([...kernels]).toEqual(['attention']);
    expect(report.cases.find((c) => c.name === 'attention/GQA B2 H4 KV2 S7 D8')?.status).toBe('failed');
    expect(report.cases.find((c) => c.name === 'attention/MHA B1 H3 KV3 S5 D16')?.status).toBe('passed');
  });

  it('an attention that ignores the sliding window', async () => {
    const { report, kernels } = await failingKernels(
      broken((ref) => ({
        attention: (q, k, v, options = {}) => ref.kernels.attention(q, k, v, { ...options, window: undefined }),
        attentionBackward: (q, k, v, out, lse, dOut, options = {}) => ref.kernels.attentionBackward(q, k, v, out, lse, dOut, { ...options, window: undefined }),
      })),
      /^attention/,
    );
    expect([...kernels].sort()).toEqual(['attention', 'attentionBackward']);
    expect(report.cases.find((c) => c.name === 'attention/window 3, GQA B2 H4 KV2 S9 D8')?.status).toBe('failed');
    expect(report.cases.find((c) => c.name === 'attentionBackward/bshd window 5 GQA B2 H4 KV2 S13 D6')?.status).toBe('failed');
    // A window longer than the sequence changes nothing.
    expect(report.cases.find((c) => c.name === 'attention/window 100 > S: the causal mask alone')?.status).toBe('passed');
  });

  it("a geglu with GELU's exact (erf) form instead of the tanh approximation", async () => {
    // erf by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7): far closer to erf than the tanh form is.
    const erf = (x: number) => {
      const t = 1 / (1 + 0.3275911 * Math.abs(x));
      const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
      return Math.sign(x) * y;
    };
    const { report, kernels } = await failingKernels(
      broken((ref) => ({
        geglu: (gate, up) => {
          const g = ref.readSync(gate).data as Float32Array;
          const u = ref.readSync(up).data as Float32Array;
          return ref.upload(
            new Tensor(
              'f32',
              gate.shape,
              g.map((x, i) => 0.5 * x * (1 + erf(x / Math.SQRT2)) * u[i]),
            ),
          );
        },
      })),
      /^geglu\//,
    );
    expect([...kernels]).toEqual(['geglu']);
    expect(report.cases.find((c) => c.name === 'geglu/odd [13, 7]')?.status).toBe('failed');
  });

  it('a sqrt that flushes subnormal inputs to zero', async () => {
    const { report, kernels } = await failingKernels(
      broken((ref) => ({
        sqrt: (x) =>
          withCopy(
            ref,
            x,
            (host) =>
              new Tensor(
                'f32',
                host.shape,
                (host.data as Float32Array).map((v) => (Math.abs(v) < 2 ** -126 ? 0 * Math.sign(v) : v)),
              ),
            (copy) => ref.kernels.sqrt(copy),
          ),
      })),
      /^sqrt\//,
    );
    expect([...kernels]).toEqual(['sqrt']);
    expect(report.cases.find((c) => c.name.startsWith('sqrt/subnormals'))?.status).toBe('failed');
    expect(report.cases.find((c) => c.name === 'sqrt/odd [9, 17]')?.status).toBe('passed');
  });

  const SMALL_DROPOUT = /^dropout\/(?!large \[|rate of)/;
  it('a dropout that scales by the float64 1 / (1 − p), or ignores the offset', async () => {
    const float64Scale = await failingKernels(
      broken((ref) => ({
        dropout: (x, options) => {
          const y = ref.kernels.dropout(x, options);
          const host = ref.readSync(y);
          ref.free(y);
          const xs = ref.readSync(x).data as Float32Array;
          const data = (host.data as Float32Array).map((v, i) => (Object.is(v, 0) ? 0 : xs[i] * (1 / (1 - options.p))));
          return ref.upload(new Tensor('f32', host.shape, data));
        },
      })),
      SMALL_DROPOUT,
    );
    expect([...float64Scale.kernels]).toEqual(['dropout']);
    expect(float64Scale.report.cases.find((c) => c.name === 'dropout/[7, 13] p 0.1')?.status).toBe('failed');
    expect(float64Scale.report.cases.find((c) => c.name.startsWith('dropout/p = 0'))?.status).toBe('passed');
    const noOffset = await failingKernels(
      broken((ref) => ({ dropout: (x, options) => ref.kernels.dropout(x, { ...options, offset: 0 }) })),
      SMALL_DROPOUT,
    );
    expect(noOffset.report.cases.filter((c) => c.status === 'failed').map((c) => c.name)).toEqual([
      'dropout/offset 12345',
      'dropout/counter crosses 2^32',
      'dropout/largest seed and stream, offset 2^40 + 5',
      'dropout/rejects a fractional offset',
    ]);
  });

  it('a kernel that leaks a device tensor on every call', async () => {
    const { report, kernels } = await failingKernels(
      broken((ref) => ({
        scale: (x, factor) => {
          ref.upload(new Tensor('f32', [1]));
          return ref.kernels.scale(x, factor);
        },
      })),
      /^scale\//,
    );
    expect([...kernels]).toEqual(['scale']);
    expect(report.cases.find((c) => c.name === 'scale/odd [9, 17]')?.error).toMatch(/1 device tensor\(s\) still live/);
  });

  it('a kernel that skips argument checks', async () => {
    const { report } = await failingKernels(
      broken((ref) => ({
        bottomKMask: (scores, k) => ref.kernels.bottomKMask(scores, Math.min(k, scores.shape[1])),
      })),
      /^bottomKMask\/rejects/,
    );
    expect(report.failed).toBe(1);
    expect(report.cases[0].error).toMatch(/expected error INVALID_OPTION, but it succeeded/);
  });
});
