// The Pruner's semantics on the reference backend: exact sparsity, masks
// against a float64 sort, zero vs reset, persistent vs regrowing masks,
// schedules that skip, Adam moments, cancellation and malformed options.
import { describe, expect, it } from 'vitest';
import { PluginRegistry, Pruner, ReferenceBackend, Tensor, type PrunableModule, type PrunerOptions } from '@lorafuse/core';
import { onceSchedule, registerPruningPlugins } from '@lorafuse/plugins';
import { groupedSortMask, sortMask } from '../../plugins/test/pruning-reference.js';
import { asyncCodeOf, codeOf } from './error-code.js';

const plugins = registerPruningPlugins(new PluginRegistry());

/** Deterministic values with many ties, zeros and both signs: k-th value of a small LCG mapped to {-3..3}/2. */
function values(count: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: count }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return ((s >> 16) % 7) / 2 - 1.5;
  });
}

interface HostModule {
  name: string;
  a: Float32Array;
  b: Float32Array;
  r: number;
  inF: number;
  out: number;
}

function hostModule(name: string, r: number, inF: number, out: number, seed: number): HostModule {
  return { name, r, inF, out, a: values(r * inF, seed), b: values(out * r, seed + 1) };
}

function upload(backend: ReferenceBackend, m: HostModule, extra: Partial<PrunableModule> = {}): PrunableModule {
  return { name: m.name, a: backend.upload(Tensor.f32([m.r, m.inF], m.a)), b: backend.upload(Tensor.f32([m.out, m.r], m.b)), ...extra };
}

const readF32 = (backend: ReferenceBackend, t: Parameters<ReferenceBackend['readSync']>[0]) => backend.readSync(t).data as Float32Array;
const maskOf = (backend: ReferenceBackend, t: Parameters<ReferenceBackend['readSync']>[0]) => Array.from(backend.readSync(t).data as Uint8Array);
const pruner = (backend: ReferenceBackend, options: Partial<PrunerOptions>) => new Pruner({ backend, plugins, metric: 'magnitude', ratio: 0.5, ...options });

describe('Pruner: magnitude masks against a float64 sort', () => {
  const mods = [hostModule('m0', 4, 10, 6, 7), hostModule('m1', 2, 5, 3, 99)];
  mods[0].a[3] = NaN;
  mods[0].a[5] = -0;

  it.each([0, 0.25, 0.5, 0.9, 1])('module grouping, ratio %s: the k lowest |θ| by index order are zeroed, the rest untouched', async (ratio) => {
    const backend = new ReferenceBackend();
    const modules = mods.map((m) => upload(backend, m));
    const report = await pruner(backend, { ratio }).prune(modules);
    mods.forEach((m, i) => {
      for (const [factor, host, dev] of [
        ['A', m.a, modules[i].a],
        ['B', m.b, modules[i].b],
      ] as const) {
        const k = Math.floor(ratio * host.length + 1e-9);
        const mask = sortMask(Array.from(host, Math.abs), k);
        const after = readF32(backend, dev);
        host.forEach((v, j) => {
          expect(Object.is(after[j], mask[j] ? 0 : v), `${m.name} ${factor}[${j}]`).toBe(true);
        });
        const entry = report.tensors.find((t) => t.module === m.name && t.factor === factor)!;
        expect(entry.pruned).toBe(k);
        expect(entry.sparsity).toBe(k / host.length);
      }
    });
  });

  it('sparsity is ⌊ratio·n⌋/n per group: 0.29 of 100 prunes 29, of 40 prunes 11; rows of 10 prune 2', async () => {
    const backend = new ReferenceBackend();
    const m = upload(backend, hostModule('m', 4, 25, 10, 3));
    const byModule = await pruner(backend, { ratio: 0.29 }).prune([m]);
    expect(byModule.tensors.map((t) => [t.factor, t.size, t.pruned])).toEqual([
      ['A', 100, 29],
      ['B', 40, 11],
    ]);
    expect(byModule.tensors[0].sparsity).toBe(0.29);
    const byRow = await pruner(backend, { ratio: 0.29, grouping: 'row' }).prune([upload(backend, hostModule('m', 4, 25, 10, 3))]);
    // A rows have 25 entries (7 pruned each), B rows 4 (1 each).
    expect(byRow.tensors.map((t) => t.pruned)).toEqual([4 * 7, 10 * 1]);
    const global = await pruner(backend, { ratio: 0.29, grouping: 'global' }).prune([upload(backend, hostModule('m', 4, 25, 10, 3))]);
    expect(global.tensors.reduce((s, t) => s + t.pruned, 0)).toBe(Math.floor(0.29 * 140 + 1e-9));
  });

  it('global ties break by flat index across tensors: modules in order, A before B', async () => {
    const backend = new ReferenceBackend();
    const t = (shape: number[]) => backend.upload(Tensor.f32(shape, [4, 1, 3, 2]));
    const mods = [
      { name: 'x', a: t([1, 4]), b: t([4, 1]) },
      { name: 'y', a: t([1, 4]), b: t([4, 1]) },
    ];
    const p = pruner(backend, { grouping: 'global', ratio: 3 / 16, masks: 'persistent' });
    await p.prune(mods);
    // Four entries tie at |θ| = 1; the three pruned are x.A[1], x.B[1], y.A[1].
    expect([
      maskOf(backend, p.mask('x', 'A')!),
      maskOf(backend, p.mask('x', 'B')!),
      maskOf(backend, p.mask('y', 'A')!),
      maskOf(backend, p.mask('y', 'B')!),
    ]).toEqual([
      [0, 1, 0, 0],
      [0, 1, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('wanda scores |A|·‖X‖ on A and |B|·‖A·X‖ on B', async () => {
    const backend = new ReferenceBackend();
    const m = hostModule('w', 3, 8, 5, 17);
    const n = Float32Array.from({ length: 8 }, (_, j) => (j % 3) * 0.75);
    const h = Float32Array.from([2, 0.5, 1]);
    const mod = upload(backend, m, { inputNorms: backend.upload(Tensor.f32([8], n)), hiddenNorms: backend.upload(Tensor.f32([3], h)) });
    const p = pruner(backend, { metric: 'wanda', ratio: 0.5, masks: 'persistent' });
    await p.prune([mod]);
    const expectA = sortMask(
      Array.from(m.a, (v, i) => Math.fround(Math.abs(v) * n[i % 8])),
      12,
    );
    const expectB = sortMask(
      Array.from(m.b, (v, i) => Math.fround(Math.abs(v) * h[i % 3])),
      7,
    );
    expect(maskOf(backend, p.mask('w', 'A')!)).toEqual(Array.from(expectA));
    expect(maskOf(backend, p.mask('w', 'B')!)).toEqual(Array.from(expectB));
  });

  it('2:4 keeps two of every four consecutive input weights', async () => {
    const backend = new ReferenceBackend();
    const m = hostModule('nm', 4, 12, 6, 5);
    const mod = upload(backend, m);
    const p = pruner(backend, { grouping: '2:4', ratio: undefined, masks: 'persistent' });
    expect(p.ratio).toBe(0.5);
    await p.prune([mod]);
    expect(maskOf(backend, p.mask('nm', 'A')!)).toEqual(Array.from(groupedSortMask(Array.from(m.a, Math.abs), 4, 2)));
    expect(maskOf(backend, p.mask('nm', 'B')!)).toEqual(Array.from(groupedSortMask(Array.from(m.b, Math.abs), 4, 2)));
  });
});

describe('Pruner: modes, masks and schedules', () => {
  const m = hostModule('m', 2, 6, 4, 41);

  it("mode 'reset' puts pruned entries back to their initial values", async () => {
    const backend = new ReferenceBackend();
    const initA = Float32Array.from({ length: 12 }, (_, i) => 100 + i);
    const initB = Float32Array.from({ length: 8 }, (_, i) => -100 - i);
    const mod = upload(backend, m, { initA: backend.upload(Tensor.f32([2, 6], initA)), initB: backend.upload(Tensor.f32([4, 2], initB)) });
    await pruner(backend, { mode: 'reset' }).prune([mod]);
    const maskA = sortMask(Array.from(m.a, Math.abs), 6);
    const maskB = sortMask(Array.from(m.b, Math.abs), 4);
    expect(Array.from(readF32(backend, mod.a))).toEqual(Array.from(m.a, (v, i) => (maskA[i] ? initA[i] : v)));
    expect(Array.from(readF32(backend, mod.b))).toEqual(Array.from(m.b, (v, i) => (maskB[i] ? initB[i] : v)));
  });

  /** Prunes at step 0, then makes the pruned entries of A the largest (as an optimizer step might) and prunes again. */
  async function twoSteps(options: Partial<PrunerOptions>) {
    const backend = new ReferenceBackend();
    const a = Float32Array.from({ length: 8 }, (_, i) => i + 1); // pruning 0.5 removes 1..4 (indices 0..3)
    const mod = { name: 'm', a: backend.upload(Tensor.f32([1, 8], a)), b: backend.upload(Tensor.f32([8, 1], a)) };
    const p = pruner(backend, options);
    await p.prune([mod]);
    const afterFirst = Array.from(readF32(backend, mod.a));
    const grown = Float32Array.from(afterFirst, (v, i) => (v === 0 ? 50 + i : v));
    const regrown = { ...mod, a: backend.upload(Tensor.f32([1, 8], grown)) };
    const report = await p.prune([regrown]);
    return { afterFirst, afterSecond: Array.from(readF32(backend, regrown.a)), report };
  }

  it('regrowth (default) re-scores every step, so entries that grew back are kept', async () => {
    const { afterFirst, afterSecond } = await twoSteps({});
    expect(afterFirst).toEqual([0, 0, 0, 0, 5, 6, 7, 8]);
    expect(afterSecond).toEqual([50, 51, 52, 53, 0, 0, 0, 0]);
  });

  it('persistent masks keep what was pruned pruned', async () => {
    const { afterSecond } = await twoSteps({ masks: 'persistent' });
    expect(afterSecond).toEqual([0, 0, 0, 0, 5, 6, 7, 8]);
  });

  it('a skipped step re-applies persistent masks and leaves regrowing ones alone', async () => {
    const once = onceSchedule({ at: 0 });
    const persistent = await twoSteps({ masks: 'persistent', schedule: once });
    expect(persistent.afterSecond).toEqual([0, 0, 0, 0, 5, 6, 7, 8]);
    expect(persistent.report.ratio).toBeNull();
    expect(persistent.report.tensors[0].pruned).toBe(4);
    const regrow = await twoSteps({ schedule: once });
    expect(regrow.afterSecond).toEqual([50, 51, 52, 53, 5, 6, 7, 8]);
    expect(regrow.report.tensors[0].pruned).toBe(0);
  });

  it('Adam moments of pruned entries are kept by default and zeroed with resetMoments', async () => {
    for (const resetMoments of [false, true]) {
      const backend = new ReferenceBackend();
      const ones = (shape: number[]) => backend.upload(Tensor.f32(shape, new Float32Array(shape[0] * shape[1]).fill(1)));
      const mod = upload(backend, m, { momentsA: { m: ones([2, 6]), v: ones([2, 6]) }, momentsB: { m: ones([4, 2]), v: ones([4, 2]) } });
      await pruner(backend, { resetMoments }).prune([mod]);
      const maskA = sortMask(Array.from(m.a, Math.abs), 6);
      for (const t of [mod.momentsA!.m, mod.momentsA!.v])
        expect(Array.from(readF32(backend, t))).toEqual(Array.from(maskA, (x) => (resetMoments && x ? 0 : 1)));
    }
  });

  it('frees everything it allocates', async () => {
    const backend = new ReferenceBackend();
    const mods = [upload(backend, m), upload(backend, hostModule('n', 3, 4, 5, 1))];
    const before = backend.memory().tensors;
    for (const options of [{}, { masks: 'persistent' as const }, { grouping: 'global' }, { grouping: 'row', masks: 'persistent' as const }]) {
      const p = pruner(backend, options);
      await p.prune(mods);
      await p.prune(mods);
      p.dispose();
      expect(backend.memory().tensors, JSON.stringify(options)).toBe(before);
    }
  });
});

describe('Pruner: bad input', () => {
  const backend = new ReferenceBackend();
  const host = hostModule('m', 2, 6, 4, 3);

  it.each([
    ['a ratio below 0', { ratio: -0.1 }, 'INVALID_OPTION'],
    ['a ratio above 1', { ratio: 1.5 }, 'INVALID_OPTION'],
    ['a NaN ratio', { ratio: NaN }, 'INVALID_OPTION'],
    ['no ratio', { ratio: undefined }, 'INVALID_OPTION'],
    ['an unknown metric', { metric: 'fisher' }, 'PLUGIN_NOT_FOUND'],
    ['an unknown grouping', { grouping: 'blocks' }, 'PLUGIN_NOT_FOUND'],
    ['an unknown schedule', { schedule: 'exponential' }, 'PLUGIN_NOT_FOUND'],
    ['a ratio N:M contradicts', { grouping: '2:4', ratio: 0.3 }, 'INVALID_OPTION'],
    ['an unknown mode', { mode: 'shrink' as never }, 'INVALID_OPTION'],
    ['an unknown masks option', { masks: 'sometimes' as never }, 'INVALID_OPTION'],
    ['a plugin name without a registry', { plugins: undefined }, 'INVALID_OPTION'],
    ['a plugin of the wrong kind', { metric: plugins.get('schedule', 'constant') as never }, 'PLUGIN_INVALID'],
  ])('rejects %s', (_why, options, code) => {
    expect(codeOf(() => pruner(backend, options as Partial<PrunerOptions>))).toBe(code);
  });

  it.each([
    ['N:M whose M does not divide the input dimension', { grouping: '4:8', ratio: 0.5 }, {}, 'SHAPE_MISMATCH'],
    ['wanda without input norms', { metric: 'wanda' }, {}, 'PRUNE_INPUT_MISSING'],
    ['lora without input norms', { metric: 'lora' }, {}, 'PRUNE_INPUT_MISSING'],
    ['taylor without gradients', { metric: 'taylor' }, {}, 'PRUNE_INPUT_MISSING'],
    ['reset mode without initial values', { mode: 'reset' as const }, {}, 'PRUNE_INPUT_MISSING'],
    ['resetMoments without moments', { resetMoments: true }, {}, 'PRUNE_INPUT_MISSING'],
    ['norms of the wrong length', { metric: 'lora' }, { inputNorms: backend.upload(Tensor.f32([5], [1, 1, 1, 1, 1])) }, 'SHAPE_MISMATCH'],
    [
      'a gradient that would broadcast',
      { metric: 'taylor' },
      { gradA: backend.upload(Tensor.f32([6], [1, 1, 1, 1, 1, 1])), gradB: backend.upload(Tensor.f32([4, 2], new Float32Array(8))) },
      'SHAPE_MISMATCH',
    ],
    [
      'hidden norms of the input length',
      { metric: 'wanda' },
      { inputNorms: backend.upload(Tensor.f32([6], new Float32Array(6))), hiddenNorms: backend.upload(Tensor.f32([6], new Float32Array(6))) },
      'SHAPE_MISMATCH',
    ],
  ])('fails on %s and leaves the factors as they were', async (_why, options, extra, code) => {
    const mod = upload(backend, host, extra);
    expect(await asyncCodeOf(() => pruner(backend, options as Partial<PrunerOptions>).prune([mod]))).toBe(code);
    expect(Array.from(readF32(backend, mod.a))).toEqual(Array.from(host.a));
    expect(Array.from(readF32(backend, mod.b))).toEqual(Array.from(host.b));
  });

  it('rejects duplicate module names, negative steps and an aborted signal', async () => {
    const mod = upload(backend, host);
    expect(await asyncCodeOf(() => pruner(backend, {}).prune([mod, mod]))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => pruner(backend, {}).prune([mod], { step: -1 }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => pruner(backend, {}).prune([mod], { signal: AbortSignal.abort() }))).toBe('ABORTED');
    expect(Array.from(readF32(backend, mod.a))).toEqual(Array.from(host.a));
  });
});
