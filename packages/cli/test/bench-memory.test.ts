// `lorafuse bench memory` on a micro model (the command line must be built:
// the adapt run is a process of its own, packages/cli/dist/bin.js): the
// plan of the run against the peaks the adapt process reports, its RSS.
import { describe, expect, it } from 'vitest';
import { benchMemory } from '../src/commands/bench-memory.js';
import { captureIO } from './cli-helpers.js';

const micro = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 320,
  max_position_embeddings: 512,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
};

describe('lorafuse bench memory', () => {
  it('reports the plan, the measured wasm peaks within it, and the adapt process max RSS', async () => {
    const { io, text } = captureIO();
    const code = await benchMemory(['--config', 'micro', '--backend', 'wasm', '--batch-size', '2', '--json', '--quiet'], io, {
      configs: { micro },
      python: () => undefined,
    });
    expect(code).toBe(0);
    const line = JSON.parse(text.out) as Record<string, number | string | boolean | null>;
    expect(line).toMatchObject({
      bench: 'memory',
      config: 'micro',
      backend: 'wasm',
      batch: 2,
      seq: 256,
      steps: 3,
      adapters: 5,
      base_dtype: 'bf16',
      plan_fits: true,
    });
    expect(line.peak_bytes_in_use as number).toBeGreaterThan(0);
    // Every pair fills the 256 tokens: the plan bounds the measured peak tightly.
    expect(line.plan_vs_measured as number).toBeGreaterThanOrEqual(1);
    expect(line.plan_vs_measured as number).toBeLessThanOrEqual(1.15);
    expect(line.peak_top as number).toBeGreaterThanOrEqual(line.peak_bytes_in_use as number);
    expect(line.max_rss_bytes as number).toBeGreaterThan(line.peak_top as number);
    expect(line.tokens_per_s as number).toBeGreaterThan(0);
    expect(line.torch).toBeUndefined();
  });

  it('bounds the pruning of adapt, which holds the gradients of the step and the scores and masks of every factor, above a checkpointed step', async () => {
    const { io, text } = captureIO();
    const deep = { ...micro, num_hidden_layers: 8 };
    const code = await benchMemory(['--config', 'deep', '--backend', 'wasm', '--batch-size', '1', '--checkpointing', 'layers', '--json', '--quiet'], io, {
      configs: { deep },
      python: () => undefined,
    });
    expect(code).toBe(0);
    const line = JSON.parse(text.out) as Record<string, number>;
    expect(line.plan_vs_measured).toBeGreaterThanOrEqual(1);
    expect(line.plan_vs_measured).toBeLessThanOrEqual(1.15);
  });

  it('refuses an unknown config with a usage error', async () => {
    const { io } = captureIO();
    await expect(benchMemory(['--config', 'huge'], io, { configs: { micro } })).rejects.toMatchObject({ code: 'CLI_USAGE' });
  });
});
