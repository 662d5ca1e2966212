/**
 * `config.json`s of real model shapes, for benches that build random-init
 * checkpoints of them (no download): SmolLM2-135M and -360M, Qwen2.5-0.5B
 * and -1.5B, Llama-3.2-1B, as transformers' configs of those models have
 * them (bf16, tied embeddings).
 */
export const MODEL_SHAPES: Readonly<Record<'smol' | 'smol360' | 'qwen05' | 'qwen15' | 'llama1b', Readonly<Record<string, unknown>>>> = {
  smol: llama({
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    vocab_size: 49152,
    rope_theta: 100000,
    max_position_embeddings: 8192,
  }),
  smol360: llama({
    hidden_size: 960,
    intermediate_size: 2560,
    num_hidden_layers: 32,
    num_attention_heads: 15,
    num_key_value_heads: 5,
    vocab_size: 49152,
    rope_theta: 100000,
    max_position_embeddings: 8192,
  }),
  qwen05: qwen2({ hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936 }),
  qwen15: qwen2({ hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, vocab_size: 151936 }),
  llama1b: llama({
    hidden_size: 2048,
    intermediate_size: 8192,
    num_hidden_layers: 16,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 64,
    vocab_size: 128256,
    rope_theta: 500000,
    max_position_embeddings: 131072,
    rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  }),
};

function llama(shape: Record<string, unknown>): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_act: 'silu',
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    ...shape,
  };
}

function qwen2(shape: Record<string, unknown>): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_act: 'silu',
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    max_position_embeddings: 32768,
    sliding_window: null,
    use_sliding_window: false,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    ...shape,
  };
}
