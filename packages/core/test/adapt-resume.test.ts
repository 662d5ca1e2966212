// adapt() resumed from a checkpoint ends with the same factors, bit for bit,
// as the uninterrupted run on the same backend: the reference for the
// resumed run is the uninterrupted one, recorded step by step.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  PluginRegistry,
  ReferenceBackend,
  Tensor,
  adapt,
  adaptiveMerge,
  checkpointPruning,
  downloadAdapter,
  isLoraFuseError,
  loadAdapter,
  loadCheckpoint,
  memoryFolder,
  uploadAdapter,
  type AdaptiveMergeOptions,
  type LoraAdapter,
  type StepPruning,
} from '@lorafuse/core';
import { registerPruningPlugins } from '@lorafuse/plugins';
import { fixtureFolder } from './fixtures/index.js';
import { randomExamples } from './model-parity-suite.js';

const plugins = registerPruningPlugins(new PluginRegistry());
const data = randomExamples([7, 9, 6, 8, 10, 5, 8, 7], 3);
const RUN = { train: data, padId: 0, ratio: 0.4, plugins, batchSize: 1, accumulation: 2, epochs: 1, lr: 5e-3, seed: 4 };

async function setup() {
  const backend = new ReferenceBackend();
  const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
  const host = await loadAdapter(fixtureFolder('lora-qv-r8'));
  const related: LoraAdapter = {
    config: host.config,
    modules: host.modules.map((m) => ({
      ...m,
      a: new Tensor(
        'f32',
        m.a.shape,
        m.a.toFloat32().map((v) => 0.5 - v),
      ),
    })),
  };
  return { backend, model, host, related };
}

async function run(resumeAfter?: Map<string, Uint8Array>) {
  const { backend, model, host, related } = await setup();
  const adapters = [uploadAdapter(backend, host), uploadAdapter(backend, related)];
  const saved: Map<string, Uint8Array>[] = [];
  const folder = memoryFolder();
  const resume = resumeAfter ? await loadCheckpoint(memoryFolder(resumeAfter)) : undefined;
  const steps: number[] = [];
  for await (const event of adapt(backend, model, { ...RUN, adapters, checkpoint: { folder, everySteps: 1 }, resume })) {
    if (event.type === 'step') {
      steps.push(event.step);
      saved.push(new Map(folder.files));
    }
  }
  const factors = (await Promise.all(adapters.map((d) => downloadAdapter(backend, d, host.config)))).flatMap((a) =>
    a.modules.flatMap((m) => [m.a.toFloat32(), m.b.toFloat32()]),
  );
  return { factors, saved, steps };
}

describe('adapt resume', () => {
  it('continues from a mid-run checkpoint to the same pruned factors as the uninterrupted run', async () => {
    const whole = await run();
    expect(whole.steps).toEqual([1, 2, 3, 4]);
    const resumed = await run(whole.saved[1]);
    expect(resumed.steps).toEqual([3, 4]);
    expect(resumed.factors.length).toBe(whole.factors.length);
    for (const [i, f] of resumed.factors.entries()) expect(f).toEqual(whole.factors[i]);
    // The pruning actually reached the result: 40% of each factor is zero.
    const zeros = whole.factors[0].filter((v) => v === 0).length / whole.factors[0].length;
    expect(zeros).toBeCloseTo(0.4, 1);
  });
});

describe('adaptiveMerge with a checkpoint', () => {
  const validation = randomExamples([6, 8], 9);
  const factors = (adapter: LoraAdapter) => adapter.modules.map((m) => [Array.from(m.a.toFloat32()), Array.from(m.b.toFloat32())]);
  const merge = async (extra: Partial<AdaptiveMergeOptions>) => {
    const { backend, model, host, related } = await setup();
    const prunings: StepPruning[] = [];
    const result = await adaptiveMerge(backend, model, {
      ...RUN,
      validation,
      adapters: [host, related],
      ...extra,
      onProgress: (event) => {
        if (event.type === 'prune') prunings.push(event);
        extra.onProgress?.(event);
      },
    });
    return { result, prunings };
  };

  it('an abort leaves the last completed, pruned step in the checkpoint, and resuming it gives the uninterrupted result', async () => {
    const whole = await merge({});
    expect(whole.result.steps).toBe(4);
    const folder = memoryFolder();
    const controller = new AbortController();
    // No periodic checkpoints: only the abort saves step 3.
    const error = await merge({
      checkpoint: { folder },
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === 'prune' && event.step === 3) controller.abort();
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isLoraFuseError(error, 'ABORTED')).toBe(true);
    const saved = await loadCheckpoint(folder);
    expect(saved.progress.step).toBe(3);
    expect({ type: 'prune', ...checkpointPruning(saved) }).toEqual(whole.prunings[2]);
    const resumed = await merge({ checkpoint: { folder }, resume: saved });
    expect(resumed.prunings.map((p) => p.step)).toEqual([4]);
    expect(factors(resumed.result.merged)).toEqual(factors(whole.result.merged));
    expect(resumed.result.trainLoss).toBe(whole.result.trainLoss);
    expect(resumed.result.valLoss).toBe(whole.result.valLoss);
  });

  it('resumed from the checkpoint of its last step (nothing left to train), reports what the uninterrupted run did', async () => {
    const folder = memoryFolder();
    const whole = await merge({ checkpoint: { folder } });
    const resumed = await merge({ resume: await loadCheckpoint(folder) });
    expect(resumed.prunings).toEqual([]);
    const { merged, adapters, ...summary } = resumed.result;
    const { merged: wholeMerged, adapters: _, ...wholeSummary } = whole.result;
    expect(summary).toEqual(wholeSummary);
    expect(summary.tensors).toEqual(whole.prunings.at(-1)!.tensors);
    expect(factors(merged)).toEqual(factors(wholeMerged));
    expect(adapters.length).toBe(2);
  });
});
