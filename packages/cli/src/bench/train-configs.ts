/** A model shape and a batch that `lorafuse bench train` trains LoRA on. */
export interface TrainBenchConfig {
  /** A Llama `config.json` (as transformers' `LlamaConfig` takes it too). */
  readonly model: Readonly<Record<string, unknown>>;
  /** Sequences per optimizer step. */
  readonly batch: number;
  /** Tokens per sequence. */
  readonly seq: number;
}

const llama = (shape: Record<string, number | boolean>) => ({
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_act: 'silu',
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  max_position_embeddings: 2048,
  tie_word_embeddings: true,
  ...shape,
});

/** The benchmark configs of DESIGN §6. */
export const TRAIN_BENCH_CONFIGS: Readonly<Record<string, TrainBenchConfig>> = {
  tiny: {
    model: llama({ hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 688, vocab_size: 4096 }),
    batch: 8,
    seq: 256,
  },
  // SmolLM2-135M's shapes.
  smol: {
    model: llama({
      hidden_size: 576,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      intermediate_size: 1536,
      vocab_size: 49152,
      rope_theta: 100000,
      max_position_embeddings: 8192,
    }),
    batch: 1,
    seq: 256,
  },
};
