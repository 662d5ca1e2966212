// The derivative-free search and LoraHub's weight search. The (1+1)-ES is
// checked on objectives whose minimum is known in closed form; the weight
// search is checked by recomputing its reported loss and objective through
// the public merge and evaluateLoss, and against the start's objective.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  ReferenceBackend,
  evaluateLoss,
  freeAdapter,
  loadAdapter,
  minimizeOnePlusOne,
  searchMergeWeights,
  uploadAdapter,
  type Example,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { lorahubMerger } from '@lorafuse/plugins';
import { asyncCodeOf } from './error-code.js';
import { FIXTURES } from './fixtures/index.js';

describe('minimizeOnePlusOne', () => {
  const target = [0.7, -1.1, 0.25];
  const quadratic = (x: readonly number[]) => x.reduce((s, v, i) => s + (i + 1) * (v - target[i]) ** 2, 0);

  it('finds the minimum of a scaled quadratic inside the box', async () => {
    const found = await minimizeOnePlusOne(quadratic, { start: [0, 0, 0], budget: 400, lower: -1.5, upper: 1.5, seed: 3 });
    found.point.forEach((v, i) => {
      expect(Math.abs(v - target[i])).toBeLessThan(1e-2);
    });
    expect(found.value).toBeCloseTo(quadratic(found.point), 12);
    expect(found.evaluations).toBe(400);
  });

  it('stays in the box: a minimum outside it ends on the boundary', async () => {
    const tried: number[][] = [];
    const found = await minimizeOnePlusOne((x) => (x[0] - 5) ** 2, {
      start: [0],
      budget: 120,
      lower: -1.5,
      upper: 1.5,
      onEvaluation: ({ point }) => tried.push([...point]),
    });
    expect(tried.flat().every((v) => v >= -1.5 && v <= 1.5)).toBe(true);
    expect(found.point[0]).toBeCloseTo(1.5, 3);
  });

  it('is deterministic for a seed, differs across seeds, and never keeps a NaN point', async () => {
    const run = (seed: number) =>
      minimizeOnePlusOne((x) => (x[0] > 0.5 ? NaN : quadratic([x[0], -1.1, 0.25])), { start: [0], budget: 60, lower: -1.5, upper: 1.5, seed });
    const [a, b, c] = await Promise.all([run(1), run(1), run(2)]);
    expect(a).toEqual(b);
    expect(a.point).not.toEqual(c.point);
    expect(a.point[0]).toBeLessThanOrEqual(0.5);
    expect(Number.isFinite(a.value)).toBe(true);
  });

  it('rejects bad options and honours abort', async () => {
    const base = { start: [0], budget: 5, lower: -1, upper: 1 };
    expect(await asyncCodeOf(() => minimizeOnePlusOne(quadratic, { ...base, start: [] }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => minimizeOnePlusOne(quadratic, { ...base, budget: 0 }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => minimizeOnePlusOne(quadratic, { ...base, lower: 1 }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => minimizeOnePlusOne(quadratic, { ...base, signal: AbortSignal.abort() }))).toBe('ABORTED');
  });
});

describe('searchMergeWeights (LoraHub)', () => {
  // Token ids inside llama-tiny's 64-word vocabulary; the loss covers the second half of each sequence.
  const examples: Example[] = [
    [5, 9, 13, 2, 40, 41, 7, 3],
    [11, 12, 30, 31, 32, 8, 9],
    [60, 1, 2, 3, 4, 5],
  ].map((ids) => ({ ids, targets: ids.map((_, i) => (i >= ids.length / 2 && i + 1 < ids.length ? ids[i + 1] : -100)) }));

  it('reports a loss and objective that the merge at its weights reproduces, no worse than the start', async () => {
    const backend = new ReferenceBackend();
    const model = await CausalLM.load(backend, nodeFolder(`${FIXTURES}/llama-tiny`));
    const adapters = await Promise.all(['eq0', 'eq1'].map((n) => loadAdapter(nodeFolder(`${FIXTURES}/merge/adapters/${n}`))));
    const padId = 0;
    const progress: number[] = [];
    const found = await searchMergeWeights(backend, model, adapters, examples, {
      merger: lorahubMerger,
      padId,
      budget: 12,
      seed: 5,
      onProgress: ({ done }) => progress.push(done),
    });

    const lossAt = async (weights: number[]) => {
      const device = uploadAdapter(backend, await lorahubMerger.merge(adapters, { weights }));
      const { loss } = await evaluateLoss(backend, model, examples, { adapters: [device], padId });
      freeAdapter(backend, device);
      return loss;
    };
    const penalty = (w: number[]) => (0.05 * (Math.abs(w[0]) + Math.abs(w[1]))) / 2;
    expect(found.weights).toHaveLength(2);
    expect(found.weights.every((w) => Math.abs(w) <= 1.5)).toBe(true);
    expect(found.loss).toBeCloseTo(await lossAt(found.weights), 10);
    expect(found.objective).toBeCloseTo(found.loss + penalty(found.weights), 12);
    expect(found.objective).toBeLessThanOrEqual((await lossAt([0, 0])) + penalty([0, 0]));
    expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    model.dispose();
  });

  it('rejects fewer than two adapters and a start of the wrong length', async () => {
    const backend = new ReferenceBackend();
    const model = await CausalLM.load(backend, nodeFolder(`${FIXTURES}/llama-tiny`));
    const adapter = await loadAdapter(nodeFolder(`${FIXTURES}/lora-qv-r8`));
    expect(await asyncCodeOf(() => searchMergeWeights(backend, model, [adapter], examples, { merger: lorahubMerger, padId: 0 }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => searchMergeWeights(backend, model, [adapter, adapter], examples, { merger: lorahubMerger, padId: 0, start: [1] }))).toBe(
      'INVALID_OPTION',
    );
    model.dispose();
  });
});
