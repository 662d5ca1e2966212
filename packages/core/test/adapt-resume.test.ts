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
  downloadAdapter,
  loadAdapter,
  loadCheckpoint,
  memoryFolder,
  uploadAdapter,
  type LoraAdapter,
} from '@lorafuse/core';
import { registerPruningPlugins } from '@lorafuse/plugins';
import { fixtureFolder } from './fixtures/index.js';
import { randomExamples } from './model-parity-suite.js';

const plugins = registerPruningPlugins(new PluginRegistry());
const data = randomExamples([7, 9, 6, 8, 10, 5, 8, 7], 3);
const RUN = { train: data, padId: 0, ratio: 0.4, plugins, batchSize: 1, accumulation: 2, epochs: 1, lr: 5e-3, seed: 4 };

async function run(resumeAfter?: Map<string, Uint8Array>) {
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
