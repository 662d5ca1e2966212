// searchPruneRatio against the same steps done by hand with the public API:
// for each ratio, adapt() from fresh copies and the cat merge of the result,
// then ROUGE-L of that merge's greedy dev summaries; the search must report
// those scores, pick the best ratio, and return that run's merge. evaluateRouge is checked against generate()
// and rougeCorpus() called directly.
import { describe, expect, it } from 'vitest';
import {
  ByteTokenizer,
  CausalLM,
  PluginRegistry,
  ReferenceBackend,
  adapt,
  catMerge,
  downloadAdapter,
  encodeRecord,
  evaluateRouge,
  freeAdapter,
  generate,
  initLoraAdapter,
  initModelCheckpoint,
  parseModelConfig,
  promptForSource,
  rougeCorpus,
  searchPruneRatio,
  uploadAdapter,
  LoraFuseError,
  PLUGIN_API_VERSION,
  type LoraAdapter,
  type PruneRatioSearchProgress,
  type SchedulePlugin,
} from '@lorafuse/core';
import { registerPruningPlugins } from '@lorafuse/plugins';
import { asyncCodeOf } from './error-code.js';

const tokenizer = new ByteTokenizer();
const config = parseModelConfig({
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  vocab_size: 259,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: true,
  initializer_range: 0.3,
});
const pairs = [
  { source: 'ls lists files', summary: 'list' },
  { source: 'cp copies files', summary: 'copy' },
  { source: 'mv moves files', summary: 'move' },
];
const dev = [
  { source: 'rm removes files', summary: 'remove' },
  { source: 'cat joins files', summary: 'join' },
];
const train = pairs.map((p) => encodeRecord({ kind: 'pair', ...p }, tokenizer, { maxLength: 64 }));
const plugins = registerPruningPlugins(new PluginRegistry());

async function setup() {
  const backend = new ReferenceBackend();
  const model = await CausalLM.load(backend, await initModelCheckpoint(config, { seed: 4 }));
  // Fresh LoRAs (B = 0): training moves B away from zero and pruning then changes what the model writes.
  const adapters = [1, 2].map((seed) => initLoraAdapter(model.weights, { r: 2, alpha: 4, seed }));
  return { backend, model, adapters };
}

const adaptOptions = { train, padId: tokenizer.pad, plugins, batchSize: 3, accumulation: 1, epochs: 2, lr: 5e-2 };
const scoring = { maxLength: 64, maxNewTokens: 8 };

describe('evaluateRouge', () => {
  it('scores greedy summaries of the prompts promptForSource builds, as rougeCorpus does', async () => {
    const { backend, model, adapters } = await setup();
    const devices = adapters.map((a) => uploadAdapter(backend, a));
    const got = await evaluateRouge(model, tokenizer, dev, { adapters: devices, ...scoring });
    const predictions: string[] = [];
    for (const p of dev) {
      const { tokens } = await generate(model, promptForSource(tokenizer, p.source, scoring), {
        maxNewTokens: 8,
        adapters: devices,
        stopTokens: [tokenizer.eos!],
      });
      predictions.push(tokenizer.decode(tokens));
    }
    expect(got.predictions).toEqual(predictions);
    expect({ ...got, predictions: undefined }).toEqual({
      ...rougeCorpus(
        predictions,
        dev.map((p) => p.summary),
      ),
      predictions: undefined,
    });
    expect(await asyncCodeOf(() => evaluateRouge(model, tokenizer, [], scoring))).toBe('INVALID_OPTION');
  });
});

describe('searchPruneRatio', () => {
  it('reports each ratio’s dev ROUGE as adapt + cat merge + evaluateRouge give it, and returns the best run’s merge', async () => {
    const { backend, model, adapters } = await setup();
    const ratios = [0, 0.5, 0.9];
    const seen = new Set<number>();
    const found = await searchPruneRatio(backend, model, {
      ...adaptOptions,
      adapters,
      ratios,
      dev,
      tokenizer,
      ...scoring,
      onProgress: (_e, ratio) => seen.add(ratio),
    });
    expect([...seen]).toEqual(ratios);
    const byHand: Array<{ ratio: number; rougeL: number; merged: LoraAdapter }> = [];
    for (const ratio of ratios) {
      const devices = adapters.map((a) => uploadAdapter(backend, a));
      for await (const _ of adapt(backend, model, { ...adaptOptions, adapters: devices, ratio }));
      const merged = await catMerge(await Promise.all(devices.map((d, i) => downloadAdapter(backend, d, adapters[i].config))));
      for (const d of devices) freeAdapter(backend, d);
      const device = uploadAdapter(backend, merged);
      const { rougeL } = await evaluateRouge(model, tokenizer, dev, { adapters: [device], ...scoring });
      freeAdapter(backend, device);
      byHand.push({ ratio, rougeL, merged });
    }
    expect(found.candidates.map((c) => [c.ratio, c.rougeL])).toEqual(byHand.map((h) => [h.ratio, h.rougeL]));
    const best = byHand.reduce((b, h) => (h.rougeL > b.rougeL ? h : b));
    expect(found.ratio).toBe(best.ratio);
    expect(found.failed).toEqual([]);
    expect(found.best.merged.modules.map((m) => Array.from(m.a.toFloat32()))).toEqual(best.merged.modules.map((m) => Array.from(m.a.toFloat32())));
  });

  it('resumes from the progress saved after each candidate: done ratios are not run again, failed ones stay reported, the result is the whole search’s', async () => {
    const { backend, model, adapters } = await setup();
    // A schedule that fails the run of ratio 0.5 with a typed error, at its first pruning.
    const failing: SchedulePlugin = {
      name: 'test/fails-at-half',
      kind: 'schedule',
      apiVersion: PLUGIN_API_VERSION,
      ratio: (_step, target) => {
        if (target === 0.5) throw new LoraFuseError('PRUNE_INPUT_MISSING', 'this test fails ratio 0.5');
        return target;
      },
    };
    const ratios = [0, 0.5, 0.9];
    const saved: PruneRatioSearchProgress[] = [];
    const base = { ...adaptOptions, adapters, ratios, dev, tokenizer, ...scoring, schedule: failing };
    const whole = await searchPruneRatio(backend, model, { ...base, onCandidate: (p) => void saved.push(p) });
    expect(saved.map((p) => p.tried)).toEqual([1, 2, 3]);
    expect(whole.failed).toEqual([{ ratio: 0.5, code: 'PRUNE_INPUT_MISSING', message: 'this test fails ratio 0.5' }]);
    expect(whole.candidates.map((c) => c.ratio)).toEqual([0, 0.9]);
    const factors = (r: { best: { merged: LoraAdapter } }) => r.best.merged.modules.map((m) => [Array.from(m.a.toFloat32()), Array.from(m.b.toFloat32())]);
    for (const [k, progress] of saved.entries()) {
      const seen = new Set<number>();
      const resumed = await searchPruneRatio(backend, model, { ...base, progress, onProgress: (_e, ratio) => seen.add(ratio) });
      expect([...seen]).toEqual(ratios.slice(k + 1).filter((r) => r !== 0.5));
      expect(resumed.candidates).toEqual(whole.candidates);
      expect(resumed.failed).toEqual(whole.failed);
      expect(resumed.ratio).toBe(whole.ratio);
      expect(factors(resumed)).toEqual(factors(whole));
    }
    // Every ratio failed, the first in the run before the resume: that failure is what is thrown.
    const failedFirst = { tried: 1, candidates: [], failed: [{ ratio: 0.2, code: 'TRAINING_DIVERGED', message: 'diverged before' }] };
    expect(await asyncCodeOf(() => searchPruneRatio(backend, model, { ...base, ratios: [0.2, 0.5], progress: failedFirst }))).toBe('TRAINING_DIVERGED');
    expect(await asyncCodeOf(() => searchPruneRatio(backend, model, { ...base, progress: { ...failedFirst, tried: 4 } }))).toBe('INVALID_OPTION');
  }, 180_000);

  it('refuses an empty grid, a ratio above 1 and no dev pairs', async () => {
    const { backend, model, adapters } = await setup();
    const base = { ...adaptOptions, adapters, dev, tokenizer, ...scoring };
    expect(await asyncCodeOf(() => searchPruneRatio(backend, model, { ...base, ratios: [] }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => searchPruneRatio(backend, model, { ...base, ratios: [0.5, 1.5] }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => searchPruneRatio(backend, model, { ...base, ratios: [0.5], dev: [] }))).toBe('INVALID_OPTION');
  });
});
