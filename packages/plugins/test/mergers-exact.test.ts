// `cat`, `factored` and `lorahub` against dense float64 sums written here, and the
// malformed inputs every built-in merger refuses with a typed error.
import { isLoraFuseError, PluginRegistry, Runtime, type LoraAdapter, type LoraModule, type MergeOptions } from '@lorafuse/core';
import { catMerger, factoredMerger, lorahubMerger, mergerPlugins, registerMergerPlugins } from '@lorafuse/plugins';
import { beforeAll, describe, expect, it } from 'vitest';
import { denseDelta, mergeInput } from '../../core/test/merge-fixtures.js';
import { relL2 as relativeError } from '../../core/test/reference-oracle.js';

const WEIGHTS = [1.0, 0.5, -0.3];
const sets: Record<'equal' | 'mixed', LoraAdapter[]> = { equal: [], mixed: [] };

beforeAll(async () => {
  sets.equal = await Promise.all(['eq0', 'eq1', 'eq2'].map(mergeInput));
  sets.mixed = await Promise.all(['mx0', 'mx1', 'mx2'].map(mergeInput));
});

/** `Σ_i w_i · s_i·B_i·A_i` in float64. */
function exactSum(members: readonly LoraModule[], weights: readonly number[]): Float64Array {
  const out = new Float64Array(members[0].b.shape[0] * members[0].a.shape[1]);
  members.forEach((m, i) => {
    denseDelta(m).forEach((v, j) => {
      out[j] += weights[i] * v;
    });
  });
  return out;
}

/** `s_1 · (Σ_i B_i)·(Σ_i w_i·(s_i/s_1)·A_i)` in float64, by plain loops. */
function factoredProduct(members: readonly LoraModule[], weights: readonly number[]): Float64Array {
  const [out, r] = members[0].b.shape;
  const inDim = members[0].a.shape[1];
  const s1 = members[0].scaling;
  const b = new Float64Array(out * r);
  const a = new Float64Array(r * inDim);
  members.forEach((m, i) => {
    m.b.toFloat32().forEach((v, j) => {
      b[j] += v;
    });
    m.a.toFloat32().forEach((v, j) => {
      a[j] += (weights[i] * m.scaling * v) / s1;
    });
  });
  const d = new Float64Array(out * inDim);
  for (let i = 0; i < out; i++) for (let j = 0; j < inDim; j++) for (let k = 0; k < r; k++) d[i * inDim + j] += s1 * b[i * r + k] * a[k * inDim + j];
  return d;
}

const moduleOf = (adapter: LoraAdapter, name: string) => adapter.modules.find((m) => m.name === name)!;

describe('cat', () => {
  it.each(['equal', 'mixed'] as const)('%s ranks: B·A·scaling equals the dense float64 Σ w·s·B·A (≤ 1e-6 relative; factors are f32)', async (set) => {
    const adapters = sets[set];
    const merged = await catMerger.merge(adapters, { weights: WEIGHTS });
    for (const m of merged.modules) {
      const members = adapters.map((a) => moduleOf(a, m.name));
      expect(m.rank).toBe(members.reduce((n, x) => n + x.rank, 0));
      expect(relativeError(denseDelta(m), exactSum(members, WEIGHTS))).toBeLessThan(1e-6);
    }
  });

  it('weights default to 1', async () => {
    const merged = await catMerger.merge(sets.mixed, {});
    const m = merged.modules[0];
    expect(
      relativeError(
        denseDelta(m),
        exactSum(
          sets.mixed.map((a) => moduleOf(a, m.name)),
          [1, 1, 1],
        ),
      ),
    ).toBeLessThan(1e-6);
  });
});

describe('factored', () => {
  it('B·A·scaling equals s₁·(ΣB_i)(Σ w_i·(s_i/s₁)·A_i), cross terms included', async () => {
    const merged = await factoredMerger.merge(sets.equal, { weights: WEIGHTS });
    for (const m of merged.modules) {
      const members = sets.equal.map((a) => moduleOf(a, m.name));
      expect([m.rank, m.scaling]).toEqual([members[0].rank, members[0].scaling]);
      const expected = factoredProduct(members, WEIGHTS);
      expect(relativeError(denseDelta(m), expected)).toBeLessThan(1e-6);
      // The cross terms make it differ from the exact sum.
      expect(relativeError(expected, exactSum(members, WEIGHTS))).toBeGreaterThan(0.1);
    }
  });
});

describe('lorahub', () => {
  it('B·A·scaling equals s₁·(Σ w_i·B_i)(Σ w_i·(s_i/s₁)·A_i): LoraHub’s weighted sum of every factor', async () => {
    const merged = await lorahubMerger.merge(sets.equal, { weights: WEIGHTS });
    for (const m of merged.modules) {
      const members = sets.equal.map((a) => moduleOf(a, m.name));
      const [out, r] = members[0].b.shape;
      const inDim = members[0].a.shape[1];
      const s1 = members[0].scaling;
      const b = new Float64Array(out * r);
      const a = new Float64Array(r * inDim);
      members.forEach((x, i) => {
        x.b.toFloat32().forEach((v, j) => {
          b[j] += WEIGHTS[i] * v;
        });
        x.a.toFloat32().forEach((v, j) => {
          a[j] += (WEIGHTS[i] * x.scaling * v) / s1;
        });
      });
      const expected = new Float64Array(out * inDim);
      for (let i = 0; i < out; i++) for (let j = 0; j < inDim; j++) for (let k = 0; k < r; k++) expected[i * inDim + j] += s1 * b[i * r + k] * a[k * inDim + j];
      expect([m.rank, m.scaling]).toEqual([members[0].rank, s1]);
      expect(relativeError(denseDelta(m), expected)).toBeLessThan(1e-6);
    }
  });

  it('refuses unequal ranks', async () => {
    await expect(lorahubMerger.merge(sets.mixed, {})).rejects.toMatchObject({ code: 'MERGE_INCOMPATIBLE' });
  });
});

describe('registration and cancellation', () => {
  it("registers every built-in on a runtime under PEFT's names plus cat and factored", () => {
    const runtime = new Runtime({ plugins: registerMergerPlugins(new PluginRegistry()) });
    expect(runtime.plugins.names('merger').sort()).toEqual(
      [
        'cat',
        'factored',
        'lorahub',
        'linear',
        'ties',
        'dare_linear',
        'dare_ties',
        'magnitude_prune',
        'svd',
        'ties_svd',
        'dare_linear_svd',
        'dare_ties_svd',
        'magnitude_prune_svd',
      ].sort(),
    );
  });

  it('reports progress per module and stops on abort', async () => {
    const seen: string[] = [];
    const controller = new AbortController();
    const merging = catMerger.merge(
      sets.equal,
      {},
      {
        signal: controller.signal,
        onProgress: ({ module, done, total }) => {
          seen.push(`${done}/${total} ${module}`);
          if (done === 2) controller.abort();
        },
      },
    );
    await expect(merging).rejects.toMatchObject({ code: 'ABORTED' });
    expect(seen).toEqual([`1/4 ${sets.equal[0].modules[0].name}`, `2/4 ${sets.equal[0].modules[1].name}`]);
  });
});

/** A copy of `adapter` with its modules changed by `edit`. */
const withModules = (adapter: LoraAdapter, edit: (modules: LoraModule[]) => LoraModule[]): LoraAdapter => ({ ...adapter, modules: edit([...adapter.modules]) });

describe('cat over adapters on different modules', () => {
  it("merges the union, as PEFT's cat does: a module takes only the adapters that have it", async () => {
    // Adapter 2 lacks the first module, adapter 3 the last one.
    const [a, b, c] = sets.mixed;
    const adapters = [a, withModules(b, (ms) => ms.slice(1)), withModules(c, (ms) => ms.slice(0, -1))];
    const merged = await catMerger.merge(adapters, { weights: WEIGHTS });
    expect(merged.modules.map((m) => m.name).sort()).toEqual(a.modules.map((m) => m.name).sort());
    for (const m of merged.modules) {
      const owners = adapters.flatMap((x, i) => (x.modules.some((y) => y.name === m.name) ? [i] : []));
      expect(owners.length).toBeGreaterThan(0);
      const expected = exactSum(
        owners.map((i) => moduleOf(adapters[i], m.name)),
        owners.map((i) => WEIGHTS[i]),
      );
      expect(m.rank).toBe(owners.reduce((n, i) => n + moduleOf(adapters[i], m.name).rank, 0));
      expect(relativeError(denseDelta(m), expected)).toBeLessThan(1e-6);
    }
    expect(merged.modules.find((m) => m.name === a.modules[0].name)!.rank).toBe(a.modules[0].rank + moduleOf(c, a.modules[0].name).rank);
  });
});

describe('malformed input', () => {
  const cases: Array<[string, string, () => [LoraAdapter[], MergeOptions], string]> = [
    ['no adapters', 'cat', () => [[], {}], 'INVALID_OPTION'],
    ['wrong weight count', 'linear', () => [sets.equal, { weights: [1, 2] }], 'INVALID_OPTION'],
    ['non-finite weight', 'cat', () => [sets.equal, { weights: [1, NaN, 1] }], 'INVALID_OPTION'],
    ['density above 1', 'ties', () => [sets.equal, { density: 1.5 }], 'INVALID_OPTION'],
    ['negative density', 'dare_linear', () => [sets.equal, { density: -0.1 }], 'INVALID_OPTION'],
    ['missing density', 'magnitude_prune_svd', () => [sets.equal, {}], 'INVALID_OPTION'],
    ['unknown majority-sign method', 'ties', () => [sets.equal, { density: 0.5, majoritySignMethod: 'mean' as 'total' }], 'INVALID_OPTION'],
    ['seed out of range', 'dare_linear', () => [sets.equal, { density: 0.5, seed: -1 }], 'INVALID_OPTION'],
    ['a DARE mask of the wrong size', 'dare_ties', () => [sets.equal, { density: 0.5, dareMasks: () => [1, 0] }], 'SHAPE_MISMATCH'],
    ['rank 0', 'svd', () => [sets.equal, { rank: 0 }], 'INVALID_OPTION'],
    ['rank above the module size', 'svd', () => [sets.equal, { rank: 17 }], 'INVALID_OPTION'],
    ['mismatched modules', 'linear', () => [[sets.equal[0], withModules(sets.equal[1], (m) => m.slice(1))], {}], 'MERGE_INCOMPATIBLE'],
    [
      'mismatched shapes under one name (cat)',
      'cat',
      () => [[sets.equal[0], withModules(sets.equal[1], (ms) => ms.map((m, i) => (i === 0 ? { ...ms[1], name: m.name } : m)))], {}],
      'MERGE_INCOMPATIBLE',
    ],
    [
      'mismatched shapes',
      'svd',
      // Adapter 2's first module (a 32 × 32 q_proj) replaced by its 16 × 32 v_proj under the same name.
      () => [[sets.equal[0], withModules(sets.equal[1], (ms) => ms.map((m, i) => (i === 0 ? { ...ms[1], name: m.name } : m)))], {}],
      'MERGE_INCOMPATIBLE',
    ],
    ['different ranks for a factor-wise type', 'ties', () => [sets.mixed, { density: 0.5 }], 'MERGE_INCOMPATIBLE'],
    ['different ranks for factored', 'factored', () => [sets.mixed, {}], 'MERGE_INCOMPATIBLE'],
  ];
  it.each(cases)('%s (%s) → %s', async (_, method, input, code) => {
    const plugin = mergerPlugins.find((p) => p.name === method)!;
    const [adapters, options] = input();
    const error = await plugin.merge(adapters, options).catch((e: unknown) => e);
    expect(isLoraFuseError(error) && error.code).toBe(code);
  });

  it('an unknown method is PLUGIN_NOT_FOUND on the runtime', () => {
    const registry = registerMergerPlugins(new PluginRegistry());
    expect(() => registry.get('merger', 'average')).toThrow(expect.objectContaining({ code: 'PLUGIN_NOT_FOUND' }));
  });
});
