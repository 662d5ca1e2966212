// Hugging Face model folders written by transformers' save_pretrained,
// opened by LoRAFuse and checked against what transformers read back.
import { describe, expect, it } from 'vitest';
import { SafetensorsFile, Tensor, describeModel, encodeSafetensors, isLoraFuseError, openModelFolder, parseModelConfig } from '@lorafuse/core';
import { expectTensorMatches, fixtureCopy, fixtureFolder, fixtureNames, record, type ModelRecord } from './fixtures/index.js';

const models = fixtureNames('model');
const DTYPE: Record<string, string> = { float32: 'f32', bfloat16: 'bf16', float16: 'f16' };

describe('fixture models', () => {
  it('covers the six architectures, a sharded folder and bf16', () => {
    expect(models).toEqual(
      expect.arrayContaining([
        'llama-tiny',
        'llama-tiny-sharded',
        'llama-tiny-bf16',
        'llama3-rope-tiny',
        'qwen2-tiny',
        'mistral-tiny',
        'qwen3-tiny',
        'gemma3-tiny',
        'gemma3-softcap-tiny',
        'phi3-tiny',
      ]),
    );
  });

  describe.each(models)('%s', (name) => {
    const rec = record<ModelRecord>(name);
    const rb = rec.read_back;

    it('parses config.json as transformers does', async () => {
      const { config } = await openModelFolder(fixtureFolder(name));
      expect(config.modelType).toBe(rb.model_type);
      expect(config.architecture).toBe(rb.architecture);
      expect({
        hidden_size: config.hiddenSize,
        num_hidden_layers: config.numHiddenLayers,
        num_attention_heads: config.numAttentionHeads,
        num_key_value_heads: config.numKeyValueHeads,
        head_dim: config.headDim,
        intermediate_size: config.intermediateSize,
        vocab_size: config.vocabSize,
        rms_norm_eps: config.rmsNormEps,
        tie_word_embeddings: config.tieWordEmbeddings,
        max_position_embeddings: config.maxPositionEmbeddings,
      }).toEqual({
        hidden_size: rb.hidden_size,
        num_hidden_layers: rb.num_hidden_layers,
        num_attention_heads: rb.num_attention_heads,
        num_key_value_heads: rb.num_key_value_heads,
        head_dim: rb.head_dim,
        intermediate_size: rb.intermediate_size,
        vocab_size: rb.vocab_size,
        rms_norm_eps: rb.rms_norm_eps,
        tie_word_embeddings: rb.tie_word_embeddings,
        max_position_embeddings: rb.max_position_embeddings,
      });
      // Gemma 3 has one RoPE per layer type; the others one for every layer.
      const perType = rb.model_type === 'gemma3_text';
      const rope = (perType ? rb.rope_parameters.full_attention : rb.rope_parameters) as Record<string, unknown>;
      expect(config.ropeTheta).toBe(rope.rope_theta);
      expect(config.ropeScaling.type).toBe(rope.rope_type);
      if (config.ropeScaling.type === 'llama3') {
        expect(config.ropeScaling).toEqual({
          type: 'llama3',
          factor: rope.factor,
          lowFreqFactor: rope.low_freq_factor,
          highFreqFactor: rope.high_freq_factor,
          originalMaxPositionEmbeddings: rope.original_max_position_embeddings,
        });
      }
      if (config.ropeScaling.type === 'linear') expect(config.ropeScaling.factor).toBe(rope.factor);
      if (config.ropeScaling.type === 'longrope') {
        expect(config.ropeScaling).toMatchObject({
          shortFactor: rope.short_factor,
          longFactor: rope.long_factor,
          originalMaxPositionEmbeddings: rb.original_max_position_embeddings,
        });
      }
      if (perType) {
        const local = rb.rope_parameters.sliding_attention as Record<string, unknown>;
        expect(config.localRope).toEqual({ ropeTheta: local.rope_theta, ropeScaling: { type: local.rope_type } });
      } else expect(config.localRope).toBeNull();
      expect(config.dtype).toBe(DTYPE[rb.dtype as string]);
      expect(config.qkvBias).toBe(rb.model_type === 'qwen2' || rb.attention_bias === true);
      // The newer architectures' own fields, where the fixture recorded them.
      if ('sliding_window' in rb) expect(config.slidingWindow).toBe(rb.sliding_window);
      if (Array.isArray(rb.layer_types)) expect(config.layerTypes).toEqual(rb.layer_types);
      else if ('layer_types' in rb) expect(new Set(config.layerTypes)).toEqual(new Set([rb.sliding_window === null ? 'full_attention' : 'sliding_attention']));
      if ('query_pre_attn_scalar' in rb) expect(config.attentionScale).toBe(1 / Math.sqrt(rb.query_pre_attn_scalar as number));
      if ('final_logit_softcapping' in rb) expect(config.finalLogitSoftcapping).toBe(rb.final_logit_softcapping);
    });

    it('reads every weight with the values transformers loaded', async () => {
      const { weights } = await openModelFolder(fixtureFolder(name));
      const stored = Object.values(rec.files).flatMap((f) => Object.keys(f));
      expect(weights.tensors.map((t) => t.name).sort()).toEqual(stored.sort());
      for (const [tensor, expected] of Object.entries(rec.tensors)) expectTensorMatches(await weights.read(tensor), expected, tensor);
    });

    it('describes itself for `lorafuse info --json`', async () => {
      const summary = describeModel(await openModelFolder(fixtureFolder(name)));
      expect(summary.kind).toBe('model');
      expect(summary.architecture).toBe(rb.architecture);
      expect(summary.parameters).toBe(rec.parameters);
      expect(summary.config).toMatchObject({ model_type: rb.model_type, hidden_size: rb.hidden_size, num_key_value_heads: rb.num_key_value_heads });
    });
  });

  it('reads the sharded folder across its shards, with the single-file weights', async () => {
    const rec = record<ModelRecord>('llama-tiny-sharded');
    expect(Object.keys(rec.files).filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThanOrEqual(2);
    expect(rec.tensors).toEqual(record<ModelRecord>('llama-tiny').tensors);
  });
});

describe('parseModelConfig', () => {
  const llama = { model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 8, intermediate_size: 128, vocab_size: 100 };

  it("applies transformers' defaults to omitted fields", () => {
    const c = parseModelConfig(llama);
    expect(c).toMatchObject({
      architecture: 'LlamaForCausalLM',
      numKeyValueHeads: 8,
      headDim: 8,
      rmsNormEps: 1e-6,
      ropeTheta: 10000,
      tieWordEmbeddings: false,
      maxPositionEmbeddings: 2048,
      dtype: null,
    });
    expect(c.ropeScaling).toEqual({ type: 'default' });
    expect(c.slidingWindow).toBeNull();
    expect(parseModelConfig({ ...llama, model_type: 'mistral' }).slidingWindow).toBe(4096);
    expect(parseModelConfig({ ...llama, model_type: 'qwen2' }).slidingWindow).toBeNull();
    expect(parseModelConfig({ ...llama, model_type: 'qwen2', use_sliding_window: true, sliding_window: 512 }).slidingWindow).toBe(512);
  });

  it('reads the pre-transformers-5 form (rope_theta + rope_scaling, torch_dtype) of Llama 3.1', () => {
    const c = parseModelConfig({
      ...llama,
      num_key_value_heads: 2,
      rope_theta: 500000,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      torch_dtype: 'bfloat16',
    });
    expect(c.ropeTheta).toBe(500000);
    expect(c.ropeScaling).toEqual({ type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    expect(c.dtype).toBe('bf16');
  });

  it('takes an explicit head_dim that is not hidden/heads', () => {
    expect(parseModelConfig({ ...llama, head_dim: 16 }).headDim).toBe(16);
  });

  it('gives Llama biases from attention_bias and mlp_bias, Qwen2 q/k/v biases always', () => {
    expect(parseModelConfig({ ...llama, attention_bias: true, mlp_bias: true })).toMatchObject({ qkvBias: true, outputBias: true, mlpBias: true });
    expect(parseModelConfig({ ...llama, model_type: 'qwen2' })).toMatchObject({ qkvBias: true, outputBias: false, mlpBias: false });
    expect(parseModelConfig({ ...llama, model_type: 'mistral' })).toMatchObject({ qkvBias: false, outputBias: false, mlpBias: false });
  });

  it('reads Qwen3: head_dim 128 by default, attention_bias, sliding layers from max_window_layers on', () => {
    const qwen3 = { ...llama, model_type: 'qwen3', num_hidden_layers: 4 };
    expect(parseModelConfig(qwen3)).toMatchObject({ architecture: 'Qwen3ForCausalLM', headDim: 128, qkNorm: true, qkvBias: false, slidingWindow: null });
    expect(parseModelConfig({ ...qwen3, attention_bias: true })).toMatchObject({ qkvBias: true, outputBias: true });
    const sliding = parseModelConfig({ ...qwen3, use_sliding_window: true, sliding_window: 16, max_window_layers: 2 });
    expect(sliding.slidingWindow).toBe(16);
    expect(sliding.layerTypes).toEqual(['full_attention', 'full_attention', 'sliding_attention', 'sliding_attention']);
  });

  it("reads Gemma 3's defaults and its pre-transformers-5 RoPE fields", () => {
    const gemma = { ...llama, model_type: 'gemma3_text', num_hidden_layers: 7 };
    const c = parseModelConfig(gemma);
    expect(c).toMatchObject({
      architecture: 'Gemma3ForCausalLM',
      headDim: 256,
      tieWordEmbeddings: true,
      activation: 'gelu_tanh',
      gemmaNorms: true,
      qkNorm: true,
      attentionScale: 1 / 16,
      slidingWindow: 4096,
      finalLogitSoftcapping: null,
      ropeTheta: 1_000_000,
      ropeScaling: { type: 'default' },
      localRope: { ropeTheta: 10000, ropeScaling: { type: 'default' } },
    });
    // One global layer in six (sliding_window_pattern), the sixth.
    expect(c.layerTypes.map((t) => t[0])).toEqual(['s', 's', 's', 's', 's', 'f', 's']);
    const old = parseModelConfig({
      ...gemma,
      rope_theta: 500000,
      rope_local_base_freq: 20000,
      rope_scaling: { rope_type: 'linear', factor: 8 },
      sliding_window_pattern: 2,
      final_logit_softcapping: 30,
    });
    expect(old).toMatchObject({ ropeTheta: 500000, ropeScaling: { type: 'linear', factor: 8 }, localRope: { ropeTheta: 20000 }, finalLogitSoftcapping: 30 });
    expect(old.layerTypes.map((t) => t[0])).toEqual(['s', 'f', 's', 'f', 's', 'f', 's']);
  });

  it("reads Phi-3's LongRoPE (and its older name su) with transformers' factor and attention factor", () => {
    const phi3 = { ...llama, model_type: 'phi3', max_position_embeddings: 131072, original_max_position_embeddings: 4096 };
    const factors = { short_factor: [1, 1, 1, 1], long_factor: [2, 3, 4, 5] };
    for (const type of ['longrope', 'su']) {
      const c = parseModelConfig({ ...phi3, rope_scaling: { type, ...factors } });
      expect(c).toMatchObject({ architecture: 'Phi3ForCausalLM', rmsNormEps: 1e-5, fusedProjections: true, slidingWindow: null });
      expect(c.ropeScaling).toEqual({
        type: 'longrope',
        shortFactor: [1, 1, 1, 1],
        longFactor: [2, 3, 4, 5],
        originalMaxPositionEmbeddings: 4096,
        attentionFactor: Math.sqrt(1 + Math.log(32) / Math.log(4096)),
      });
    }
    expect(parseModelConfig({ ...phi3, sliding_window: 2047 }).layerTypes).toEqual(['sliding_attention', 'sliding_attention']);
  });

  const bad: Array<[string, unknown, string]> = [
    ['not an object', [], 'MODEL_CONFIG_INVALID'],
    ['no model_type', { ...llama, model_type: undefined }, 'MODEL_CONFIG_INVALID'],
    ['model_type gpt2', { ...llama, model_type: 'gpt2' }, 'MODEL_UNSUPPORTED'],
    ['a classification head', { ...llama, architectures: ['LlamaForSequenceClassification'] }, 'MODEL_UNSUPPORTED'],
    ['architectures not a list', { ...llama, architectures: 'LlamaForCausalLM' }, 'MODEL_CONFIG_INVALID'],
    ['gelu', { ...llama, hidden_act: 'gelu' }, 'MODEL_UNSUPPORTED'],
    ['dynamic RoPE scaling', { ...llama, rope_scaling: { type: 'dynamic', factor: 2 } }, 'MODEL_UNSUPPORTED'],
    ['linear RoPE without factor', { ...llama, rope_scaling: { type: 'linear' } }, 'MODEL_CONFIG_INVALID'],
    ['yarn RoPE', { ...llama, rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 4 } }, 'MODEL_UNSUPPORTED'],
    ['partial rotary', { ...llama, partial_rotary_factor: 0.5 }, 'MODEL_UNSUPPORTED'],
    ['quantized', { ...llama, quantization_config: { quant_method: 'gptq' } }, 'MODEL_UNSUPPORTED'],
    ['hidden_size a string', { ...llama, hidden_size: '64' }, 'MODEL_CONFIG_INVALID'],
    ['no vocab_size', { ...llama, vocab_size: undefined }, 'MODEL_CONFIG_INVALID'],
    ['zero layers', { ...llama, num_hidden_layers: 0 }, 'MODEL_CONFIG_INVALID'],
    ['KV heads not dividing heads', { ...llama, num_key_value_heads: 3 }, 'MODEL_CONFIG_INVALID'],
    ['hidden not a multiple of heads, no head_dim', { ...llama, hidden_size: 60 }, 'MODEL_CONFIG_INVALID'],
    ['odd head_dim', { ...llama, head_dim: 7 }, 'MODEL_CONFIG_INVALID'],
    ['negative rms_norm_eps', { ...llama, rms_norm_eps: -1 }, 'MODEL_CONFIG_INVALID'],
    ['rope_theta a string', { ...llama, rope_theta: 'big' }, 'MODEL_CONFIG_INVALID'],
    [
      'llama3 RoPE without factor',
      { ...llama, rope_parameters: { rope_type: 'llama3', rope_theta: 1, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 } },
      'MODEL_CONFIG_INVALID',
    ],
    [
      'llama3 RoPE with high ≤ low frequency factor',
      {
        ...llama,
        rope_parameters: { rope_type: 'llama3', rope_theta: 1, factor: 8, low_freq_factor: 4, high_freq_factor: 4, original_max_position_embeddings: 8 },
      },
      'MODEL_CONFIG_INVALID',
    ],
    ['tie_word_embeddings a string', { ...llama, tie_word_embeddings: 'yes' }, 'MODEL_CONFIG_INVALID'],
    ['dtype a number', { ...llama, dtype: 32 }, 'MODEL_CONFIG_INVALID'],
    ['Gemma 3 with vision (model_type gemma3)', { ...llama, model_type: 'gemma3' }, 'MODEL_UNSUPPORTED'],
    ['Gemma 3 with exact GELU', { ...llama, model_type: 'gemma3_text', hidden_activation: 'gelu' }, 'MODEL_UNSUPPORTED'],
    ['Gemma 3 bidirectional', { ...llama, model_type: 'gemma3_text', use_bidirectional_attention: true }, 'MODEL_UNSUPPORTED'],
    ['Gemma 3 negative soft-cap', { ...llama, model_type: 'gemma3_text', final_logit_softcapping: -30 }, 'MODEL_CONFIG_INVALID'],
    ['Gemma 3 yarn on its global layers', { ...llama, model_type: 'gemma3_text', rope_scaling: { rope_type: 'yarn', factor: 8 } }, 'MODEL_UNSUPPORTED'],
    ['layer_types of the wrong length', { ...llama, model_type: 'gemma3_text', layer_types: ['full_attention'] }, 'MODEL_CONFIG_INVALID'],
    ['a chunked attention layer', { ...llama, model_type: 'gemma3_text', layer_types: ['full_attention', 'chunked_attention'] }, 'MODEL_UNSUPPORTED'],
    [
      'LongRoPE factors of the wrong length',
      { ...llama, model_type: 'phi3', rope_scaling: { type: 'longrope', short_factor: [1, 1], long_factor: [1, 1, 1, 1] } },
      'MODEL_CONFIG_INVALID',
    ],
    ['Phi-3 with dynamic RoPE', { ...llama, model_type: 'phi3', rope_scaling: { type: 'dynamic', factor: 2 } }, 'MODEL_UNSUPPORTED'],
    ['Phi-4-mini partial rotary', { ...llama, model_type: 'phi3', partial_rotary_factor: 0.75 }, 'MODEL_UNSUPPORTED'],
  ];
  it.each(bad.map(([name, json, code]) => ({ name, json, code })))('$name → $code', ({ json, code }) => {
    let error: unknown;
    try {
      parseModelConfig(json);
    } catch (e) {
      error = e;
    }
    expect(isLoraFuseError(error) ? error.code : error).toBe(code);
  });
});

type Folder = ReturnType<typeof fixtureCopy>;
const text = (s: string) => new TextEncoder().encode(s);

function editConfig(edit: Record<string, unknown>) {
  return async (f: Folder) => {
    const json = JSON.parse(new TextDecoder().decode(f.files.get('config.json')!));
    await f.write('config.json', [text(JSON.stringify({ ...json, ...edit }))]);
  };
}

function editWeights(edit: (t: Map<string, Tensor>) => void) {
  return async (f: Folder) => {
    const file = await SafetensorsFile.open(await f.open('model.safetensors'));
    const tensors = new Map(await Promise.all(file.tensors.map(async (t) => [t.name, await file.read(t.name)] as [string, Tensor])));
    edit(tensors);
    await f.write('model.safetensors', encodeSafetensors(tensors, { format: 'pt' }));
  };
}

describe('malformed model folders', () => {
  const cases: Array<[string, string, (f: Folder) => Promise<void> | void, string]> = [
    ['no config.json', 'llama-tiny', (f) => void f.files.delete('config.json'), 'MODEL_CONFIG_MISSING'],
    ['no weights', 'llama-tiny', (f) => void f.files.delete('model.safetensors'), 'MODEL_WEIGHTS_MISSING'],
    ['config not JSON', 'llama-tiny', (f) => f.write('config.json', [text('{')]), 'INVALID_JSON'],
    ['unsupported model_type', 'llama-tiny', editConfig({ model_type: 'gemma' }), 'MODEL_UNSUPPORTED'],
    ['intermediate_size disagreeing with the weights', 'llama-tiny', editConfig({ intermediate_size: 40 }), 'SHAPE_MISMATCH'],
    ['vocab_size disagreeing with the weights', 'llama-tiny', editConfig({ vocab_size: 65 }), 'SHAPE_MISMATCH'],
    ['head_dim disagreeing with the weights', 'llama-tiny', editConfig({ head_dim: 4 }), 'SHAPE_MISMATCH'],
    ['one layer more than stored', 'llama-tiny', editConfig({ num_hidden_layers: 3 }), 'MODEL_WEIGHTS_MISSING'],
    ['attention_bias without bias weights', 'llama-tiny', editConfig({ attention_bias: true }), 'MODEL_WEIGHTS_MISSING'],
    ['untied Qwen2 without lm_head', 'qwen2-tiny', editConfig({ tie_word_embeddings: false }), 'MODEL_WEIGHTS_MISSING'],
    ['Qwen2 without its q_proj bias', 'qwen2-tiny', editWeights((t) => void t.delete('model.layers.1.self_attn.q_proj.bias')), 'MODEL_WEIGHTS_MISSING'],
    ['final norm missing', 'llama-tiny', editWeights((t) => void t.delete('model.norm.weight')), 'MODEL_WEIGHTS_MISSING'],
    ['a norm of the wrong shape', 'llama-tiny', editWeights((t) => void t.set('model.norm.weight', Tensor.f32([31], new Float32Array(31)))), 'SHAPE_MISMATCH'],
    ['an int32 weight', 'llama-tiny', editWeights((t) => void t.set('model.norm.weight', new Tensor('i32', [32]))), 'UNSUPPORTED_DTYPE'],
    ['a shard missing', 'llama-tiny-sharded', (f) => void f.files.delete('model-00002-of-00002.safetensors'), 'SHARD_INDEX_INVALID'],
    ['index not JSON', 'llama-tiny-sharded', (f) => f.write('model.safetensors.index.json', [text('{"weight_map": ')]), 'INVALID_JSON'],
    ['weights truncated', 'llama-tiny', (f) => f.write('model.safetensors', [f.files.get('model.safetensors')!.subarray(0, 5)]), 'SAFETENSORS_TOO_SMALL'],
  ];
  it.each(cases.map(([name, fixture, mutate, code]) => ({ name, fixture, mutate, code })))('$name → $code', async ({ fixture, mutate, code }) => {
    const folder = fixtureCopy(fixture);
    await mutate(folder);
    const error = await openModelFolder(folder).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isLoraFuseError(error) ? error.code : error).toBe(code);
  });

  it('hints at safe_serialization when only pytorch_model.bin is there', async () => {
    const folder = fixtureCopy('llama-tiny');
    folder.files.set('pytorch_model.bin', new Uint8Array(1));
    folder.files.delete('model.safetensors');
    await expect(openModelFolder(folder)).rejects.toThrow(/safe_serialization/);
  });

  it('tolerates tensors the architecture does not use', async () => {
    const folder = fixtureCopy('llama-tiny');
    await editWeights((t) => void t.set('model.layers.0.self_attn.rotary_emb.inv_freq', Tensor.f32([4], [1, 2, 3, 4])))(folder);
    const model = await openModelFolder(folder);
    expect(describeModel(model).parameters).toBe(record<ModelRecord>('llama-tiny').parameters);
  });
});
