import { PUBLISHED_ADAPT_SETTINGS } from '@lorafuse/core';
import type { CorpusSizes } from './corpus.js';

/** Hyper-parameters of one training stage. */
export interface StageSettings {
  /** Passes over the stage's data. */
  readonly epochs: number;
  /** Examples per micro-batch. */
  readonly batchSize: number;
  /** Peak AdamW learning rate. */
  readonly lr: number;
}

/** Everything that decides what the demo computes (with the seed). */
export interface DemoSettings {
  /** `full` or `quick`. */
  readonly name: string;
  /** Pairs per split and language. */
  readonly corpus: CorpusSizes;
  /** The base model's Hugging Face `config.json` (a small Llama over the byte-level tokenizer). */
  readonly model: Readonly<Record<string, unknown>>;
  /** Longest encoded pair or text, in byte tokens. */
  readonly maxLength: number;
  /** Full-parameter pretraining of the base model on the related domains' pairs as plain text (cosine schedule with warm-up). */
  readonly pretrain: StageSettings;
  /** The LoRAs: rank, alpha and the projections they adapt. */
  readonly lora: { readonly r: number; readonly alpha: number; readonly targets: readonly string[] };
  /** Training of each related-domain LoRA on its domain's pairs. */
  readonly related: StageSettings;
  /** Training of the target-only LoRA on the target's few pairs. */
  readonly target: StageSettings;
  /** The adaptive merge (the method's update-and-prune), with and without pruning. */
  readonly adapt: StageSettings & { readonly accumulation: number; readonly epochDecay: number; readonly ratio: number };
  /** Longest generated summary, in byte tokens. */
  readonly maxNewTokens: number;
}

const MODEL = Object.freeze({
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 176,
  vocab_size: 259,
  max_position_embeddings: 256,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  initializer_range: 0.02,
  hidden_act: 'silu',
  bos_token_id: 256,
  eos_token_id: 257,
  pad_token_id: 258,
  torch_dtype: 'float32',
});

// The method's published LoRA shape: rank 8, alpha 32 on q_proj and v_proj.
const LORA = Object.freeze({ r: PUBLISHED_ADAPT_SETTINGS.r, alpha: PUBLISHED_ADAPT_SETTINGS.alpha, targets: PUBLISHED_ADAPT_SETTINGS.targetModules });

/** The full demo: under five minutes on two CPU cores with the wasm backend. */
export const FULL_DEMO_SETTINGS: DemoSettings = Object.freeze({
  name: 'full',
  corpus: Object.freeze({ pretrain: 300, related: 60, targetTrain: 16, targetTest: 16 }),
  model: MODEL,
  maxLength: 256,
  pretrain: Object.freeze({ epochs: 2, batchSize: 16, lr: 1e-2 }),
  lora: LORA,
  related: Object.freeze({ epochs: 2, batchSize: 8, lr: 3e-3 }),
  target: Object.freeze({ epochs: 10, batchSize: 8, lr: 1e-2 }),
  adapt: Object.freeze({ epochs: 10, batchSize: 8, accumulation: 1, lr: 3e-3, epochDecay: 0.85, ratio: 0.5 }),
  maxNewTokens: 72,
});

/** The quick demo (tests, the browser example): the same pipeline on a fraction of the data and steps, in seconds. */
export const QUICK_DEMO_SETTINGS: DemoSettings = Object.freeze({
  ...FULL_DEMO_SETTINGS,
  name: 'quick',
  corpus: Object.freeze({ pretrain: 24, related: 12, targetTrain: 8, targetTest: 4 }),
  pretrain: Object.freeze({ ...FULL_DEMO_SETTINGS.pretrain, epochs: 1 }),
  related: Object.freeze({ ...FULL_DEMO_SETTINGS.related, epochs: 1 }),
  target: Object.freeze({ ...FULL_DEMO_SETTINGS.target, epochs: 2 }),
  adapt: Object.freeze({ ...FULL_DEMO_SETTINGS.adapt, epochs: 2 }),
  maxNewTokens: 24,
});
