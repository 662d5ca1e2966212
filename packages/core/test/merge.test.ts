// The merge primitives of @lorafuse/core against small cases worked out here
// (PEFT's merge_utils semantics) and against low-rank matrices whose SVD is
// known by construction.
import {
  combineTensors,
  createAdapterConfig,
  householderQr,
  loadAdapter,
  lowRankFromFactors,
  magnitudePrune,
  majoritySignMask,
  memoryFolder,
  mergedAdapter,
  philoxDareMasks,
  saveAdapter,
  type Matrix,
} from '@lorafuse/core';
import { describe, expect, it } from 'vitest';

const f64 = (xs: number[]) => Float64Array.from(xs);

describe('combinations (PEFT merge_utils semantics)', () => {
  it('magnitude pruning keeps trunc(density·n) largest |x|, lower index first on ties', () => {
    expect([...magnitudePrune(f64([0.1, -3, 2, -2, 0.5]), 0.5)]).toEqual([0, -3, 2, 0, 0]);
    expect([...magnitudePrune(f64([1, 2, 3]), 0)]).toEqual([0, 0, 0]);
    expect([...magnitudePrune(f64([1, 2, 3]), 1)]).toEqual([1, 2, 3]);
  });

  it('elects signs by total or by frequency, + on ties, never keeping zeros', () => {
    const t = [f64([3, -1, 0, 1]), f64([-1, -1, 2, -1]), f64([-1, 5, 0, 0])];
    // total: 1, 3, 2, 0 → +, +, +, + ; frequency: -1, -1, 1, 0 → -, -, +, +
    expect(majoritySignMask(t, 'total').map((m) => [...m])).toEqual([
      [1, 0, 0, 1],
      [0, 0, 1, 0],
      [0, 1, 0, 0],
    ]);
    expect(majoritySignMask(t, 'frequency').map((m) => [...m])).toEqual([
      [0, 1, 0, 1],
      [1, 1, 1, 0],
      [1, 0, 0, 0],
    ]);
  });

  it('ties = prune, elect on the unweighted tensors, average the agreeing weighted entries', () => {
    const t = [f64([4, -1, 2, 0.1]), f64([-2, -3, 1, 0.2])];
    // density 0.5: [4, 0, 2, 0] and [-2, -3, 0, 0]; total signs: +, -, +, + (0 → +).
    const out = combineTensors('ties', t, [0.5, 2], { density: 0.5, majoritySignMethod: 'total' });
    expect([...out]).toEqual([2, -6, 1, 0]);
  });

  it('dare_linear = drop by mask, rescale by 1/density, weighted sum', () => {
    const masks = [
      [1, 0, 1],
      [0, 1, 1],
    ];
    const out = combineTensors('dare_linear', [f64([1, 2, 3]), f64([4, 5, 6])], [1, -1], { density: 0.5, majoritySignMethod: 'total', mask: (i) => masks[i] });
    expect([...out]).toEqual([2, -10, -6]);
  });
});

describe('philoxDareMasks', () => {
  it('is deterministic per seed, differs per module and keeps about density of the entries', () => {
    const request = { module: 'model.layers.0.self_attn.q_proj', target: 'A' as const, adapter: 0, size: 20000, density: 0.3 };
    const a = philoxDareMasks(7)(request);
    const draw = (seed: number, adapter = 0) => Array.from(philoxDareMasks(seed)({ ...request, adapter }));
    expect(draw(7)).toEqual(Array.from(a));
    expect(draw(8)).not.toEqual(Array.from(a));
    expect(draw(7, 1)).not.toEqual(Array.from(a));
    const kept = Array.from(a).reduce((n, x) => n + x, 0) / a.length;
    expect(Math.abs(kept - 0.3)).toBeLessThan(0.015);
  });
});

/** An LCG matrix, independent of the library's RNG. */
function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  let s = seed >>> 0;
  return {
    rows,
    cols,
    data: new Float64Array(rows * cols).map(() => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32 - 0.5;
    }),
  };
}

describe('lowRankFromFactors', () => {
  it('truncates Σ b_i·a_i to its top singular triplets without forming the dense matrix', () => {
    // Orthonormal U (12 × 5) and V (9 × 5); the factors split Σ σ_k u_k v_kᵀ over two adapters.
    const u = householderQr(randomMatrix(12, 5, 3)).q;
    const v = householderQr(randomMatrix(9, 5, 4)).q;
    const sigma = [5, 3, 2, 1, 0.5];
    const col = (m: Matrix, k: number) => Array.from({ length: m.rows }, (_, i) => m.data[i * m.cols + k]);
    const factors = (ks: number[]) => ({
      b: {
        rows: 12,
        cols: ks.length,
        data: Float64Array.from({ length: 12 * ks.length }, (_, x) => col(u, ks[x % ks.length])[Math.floor(x / ks.length)] * sigma[ks[x % ks.length]]),
      },
      a: { rows: ks.length, cols: 9, data: Float64Array.from(ks.flatMap((k) => col(v, k))) },
    });
    // Adapter 1 holds triplets 0 and 3, adapter 2 triplets 1, 2 and 4: the order must not matter.
    const f1 = factors([0, 3]);
    const f2 = factors([1, 2, 4]);
    const { a, b } = lowRankFromFactors([f1.b, f2.b], [f1.a, f2.a], 3);
    expect([a.rows, a.cols, b.rows, b.cols]).toEqual([3, 9, 12, 3]);
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 9; j++) {
        let got = 0;
        for (let k = 0; k < 3; k++) got += b.data[i * 3 + k] * a.data[k * 9 + j];
        const want = [0, 1, 2].reduce((s, k) => s + sigma[k] * col(u, k)[i] * col(v, k)[j], 0);
        expect(Math.abs(got - want)).toBeLessThan(1e-12);
      }
    }
    // Rows of A are orthonormal (A = Vh_k).
    for (let k = 0; k < 3; k++) expect(a.data.subarray(k * 9, k * 9 + 9).reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 12);
  });

  it('pads with zero columns when the rank exceeds Σ ranks', () => {
    const { a, b } = lowRankFromFactors([randomMatrix(6, 1, 1)], [randomMatrix(1, 5, 2)], 3);
    expect([a.rows, b.cols]).toEqual([3, 3]);
    expect([...a.data.subarray(5)].every((x) => x === 0)).toBe(true);
  });
});

describe('mergedAdapter', () => {
  it('combines target lists as PEFT does and sets alpha so that scaling is kept', () => {
    const base = (targets: string[]) => ({
      config: createAdapterConfig({ r: 4, loraAlpha: 8, targetModules: targets, baseModelNameOrPath: 'tiny' }),
      modules: [],
    });
    const module = (name: string, rank: number, scaling: number) => ({ name, a: randomMatrix(rank, 3, 1), b: randomMatrix(2, rank, 2), scaling });
    const out = mergedAdapter(
      [base(['v_proj']), base(['q_proj', 'v_proj'])],
      [module('m.0.q_proj', 2, 1), module('m.0.v_proj', 2, 0.5), module('m.1.q_proj', 5, 1)],
    );
    expect(out.config.targetModules).toEqual(['q_proj', 'v_proj']);
    expect([out.config.r, out.config.loraAlpha, out.config.baseModelNameOrPath]).toEqual([2, 2, 'tiny']);
    expect(out.modules.map((m) => [m.rank, m.alpha, m.scaling])).toEqual([
      [2, 2, 1],
      [2, 1, 0.5],
      [5, 5, 1],
    ]);
    expect(out.modules[1].a.dtype).toBe('f32');
  });

  it('saves per-module ranks and scalings that PEFT rebuilds from the config', async () => {
    const config = createAdapterConfig({ r: 4, loraAlpha: 8, targetModules: ['q_proj', 'v_proj'] });
    const module = (name: string, rank: number, scaling: number) => ({ name, a: randomMatrix(rank, 3, 1), b: randomMatrix(2, rank, 2), scaling });
    const merged = mergedAdapter([{ config, modules: [] }], [module('m.0.q_proj', 2, 1), module('m.0.v_proj', 2, 0.5), module('m.1.q_proj', 5, 1)]);
    const folder = memoryFolder({}, 'merged');
    await saveAdapter(folder, merged);
    const back = await loadAdapter(folder);
    expect(back.modules.map((m) => [m.name, m.rank, m.scaling])).toEqual([
      ['m.0.q_proj', 2, 1],
      ['m.0.v_proj', 2, 0.5],
      ['m.1.q_proj', 5, 1],
    ]);
  });
});
