// Mean per-token NLL against the PyTorch float64 loss of the grads fixtures
// (the model's loss over all counted targets of the fixture batch).
import { describe, expect, it } from 'vitest';
import { CausalLM, ReferenceBackend, SafetensorsFile, evaluateLoss, loadAdapter, uploadAdapter, type Example } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES, fixtureFolder } from './fixtures/index.js';

describe('evaluateLoss vs the PyTorch loss of the grads fixtures', () => {
  it.each(['llama-all7', 'qwen2'])('%s: any batching gives the mean over all counted tokens', async (name) => {
    const fixture = await SafetensorsFile.open(await nodeFolder(FIXTURES).open(`grads/${name}.safetensors`));
    const meta = JSON.parse(fixture.metadata.fixture) as { model: string; adapters: string[]; loss: number };
    const backend = new ReferenceBackend();
    const lm = await CausalLM.load(backend, fixtureFolder(meta.model));
    const adapters = await Promise.all(meta.adapters.map(async (a) => uploadAdapter(backend, await loadAdapter(fixtureFolder(a)))));
    const ids = await fixture.read('input_ids');
    const targets = await fixture.read('targets');
    const [rows, seq] = ids.shape;
    const row = (t: typeof ids, r: number) => Array.from((t.data as BigInt64Array).subarray(r * seq, (r + 1) * seq), Number);
    const examples: Example[] = Array.from({ length: rows }, (_, r) => ({ ids: row(ids, r), targets: row(targets, r) }));
    const counted = examples.flatMap((e) => e.targets).filter((t) => t !== -100).length;
    for (const batchSize of [1, rows]) {
      const report = await evaluateLoss(backend, lm, examples, { adapters, padId: 0, batchSize });
      expect(Math.abs(report.loss - meta.loss)).toBeLessThanOrEqual(1e-5);
      expect(report.perplexity).toBeCloseTo(Math.exp(meta.loss), 4);
      expect(report.tokens).toBe(counted);
    }
  });
});
