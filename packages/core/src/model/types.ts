import type { TensorStore } from '../io/safetensors/index.js';

/** The Hugging Face model families LoRAFuse runs (all Llama-shaped decoders). */
export type ModelType = 'llama' | 'mistral' | 'qwen2';

/** Rotary position embedding frequencies: plain, or Llama 3's long-context rescaling. */
export type RopeScaling =
  | { readonly type: 'default' }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    };

/** A validated `config.json` of a Llama-family causal language model. */
export interface ModelConfig {
  /** `model_type`. */
  readonly modelType: ModelType;
  /** The model class, e.g. `LlamaForCausalLM` (`architectures[0]`). */
  readonly architecture: string;
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  /** Key/value heads (grouped-query attention); equals `numAttentionHeads` when the file omits it. */
  readonly numKeyValueHeads: number;
  /** Per-head size; `hiddenSize / numAttentionHeads` when the file omits it. */
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly rmsNormEps: number;
  /** RoPE base frequency (`rope_theta`, or `rope_parameters.rope_theta` in transformers ≥ 5). */
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  /** The output projection reuses the token embedding (no `lm_head.weight` needed). */
  readonly tieWordEmbeddings: boolean;
  readonly maxPositionEmbeddings: number;
  /** The dtype the checkpoint declares (`dtype` or `torch_dtype`), when it is one LoRAFuse knows. */
  readonly dtype: 'f32' | 'f16' | 'bf16' | null;
  /** q/k/v projections have biases (Qwen2 always; Llama with `attention_bias`). */
  readonly qkvBias: boolean;
  /** The attention output projection has a bias (Llama with `attention_bias`). */
  readonly outputBias: boolean;
  /** The MLP projections have biases (Llama with `mlp_bias`). */
  readonly mlpBias: boolean;
  /** Sliding attention window in tokens, or `null` for full attention. */
  readonly slidingWindow: number | null;
  /** The whole `config.json`, as read. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** A Hugging Face model folder opened for reading: its config and lazily read weights. */
export interface ModelCheckpoint {
  readonly config: ModelConfig;
  /** Every tensor of `model.safetensors` or of the shards of its index. */
  readonly weights: TensorStore;
}
