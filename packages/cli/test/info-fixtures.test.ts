import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, type AdapterRecord, type ModelRecord } from '../../core/test/fixtures/index.js';
import { cli } from './cli-helpers.js';

// `lorafuse info --json` against what PyTorch/PEFT read back when the fixture
// script saved these folders (packages/core/test/fixtures/*.expected.json).
const records = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as AdapterRecord | ModelRecord);
const loadable = (r: AdapterRecord) => r.folder !== 'lora-dora';

describe('lorafuse info on PEFT-saved adapters', () => {
  const adapters = records.filter((r): r is AdapterRecord => r.kind === 'adapter' && loadable(r));
  it('covers the adapter fixtures', () => expect(adapters.length).toBeGreaterThanOrEqual(8));

  it.each(adapters.map((r) => [r.folder, r] as const))('%s: modules, rank, alpha and scaling match PEFT', async (folder, record) => {
    const r = await cli('info', join(FIXTURES, folder), '--json');
    expect(r.err).toBe('');
    const info = JSON.parse(r.out);
    const config = record.config_json;
    expect(info).toMatchObject({ kind: 'adapter', r: config.r, lora_alpha: config.lora_alpha, use_rslora: config.use_rslora, parameters: record.parameters });
    const want = record.modules
      .map((m) => ({ name: m.name, r: m.r, alpha: m.alpha, scaling: m.scaling, in: m.a_shape[1], out: m.b_shape[0] }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const got = [...info.modules].sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name));
    expect(got).toEqual(want);
  });

  it('refuses a DoRA adapter with one line', async () => {
    const r = await cli('info', join(FIXTURES, 'lora-dora'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^lorafuse: .*DoRA.*\[ADAPTER_UNSUPPORTED\]\n$/i);
  });
});

describe('lorafuse info on Hugging Face model folders', () => {
  const models = records.filter((r): r is ModelRecord => r.kind === 'model');
  it.each(models.map((r) => [r.folder, r] as const))('%s: architecture, shape config and parameter count match transformers', async (folder, record) => {
    const info = JSON.parse((await cli('info', join(FIXTURES, folder), '--json')).out);
    const rb = record.read_back;
    expect(info).toMatchObject({ kind: 'model', architecture: rb.architecture, parameters: record.parameters });
    for (const key of [
      'hidden_size',
      'num_hidden_layers',
      'num_attention_heads',
      'num_key_value_heads',
      'intermediate_size',
      'vocab_size',
      'tie_word_embeddings',
    ]) {
      expect(info.config[key], key).toBe(rb[key]);
    }
    // Gemma 3 records a RoPE per layer type; rope_theta is its global layers'.
    const rope = (rb.rope_parameters.full_attention ?? rb.rope_parameters) as Record<string, unknown>;
    expect(info.config.rope_theta).toBe(rope.rope_theta);
    const fused = rb.model_type === 'phi3';
    expect(info.lora_targets).toEqual(
      fused ? ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj'] : ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    );
  });

  it('names the architecture and its LoRA targets in its text output', async () => {
    const r = await cli('info', join(FIXTURES, 'phi3-tiny'));
    expect(r.out).toMatch(/^Hugging Face model: Phi3ForCausalLM, .*\nLoRA targets: qkv_proj, o_proj, gate_up_proj, down_proj\n/);
    const gemma = await cli('info', join(FIXTURES, 'gemma3-tiny'));
    expect(gemma.out).toMatch(/layer_types +2 sliding_attention, 1 full_attention/);
  });

  it('describes a sharded checkpoint through its index', async () => {
    const folder = models.find((m) => m.folder.includes('sharded'))!;
    const info = JSON.parse((await cli('info', join(FIXTURES, folder.folder, 'model.safetensors.index.json'), '--json')).out);
    expect(info.kind).toBe('safetensors');
    expect(info.parameters).toBe(folder.parameters);
    expect(info.tensors).toHaveLength(Object.keys(folder.tensors).length);
  });
});
