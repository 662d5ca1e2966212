import type { TensorStore } from '../io/safetensors/index.js';

/** The Hugging Face model families LoRAFuse runs (decoder-only transformers of the Llama lineage). */
export type ModelType = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gemma3_text' | 'phi3';

/**
 * Rotary position embedding frequencies: plain, divided by a factor
 * (`linear`), Llama 3's long-context rescaling, or LongRoPE (Phi-3's
 * `longrope`, formerly `su`: per-frequency factors, the long ones for
 * sequences past `originalMaxPositionEmbeddings`, and cos/sin scaled by
 * `attentionFactor`).
 */
export type RopeScaling =
  | { readonly type: 'default' }
  | { readonly type: 'linear'; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    }
  | {
      readonly type: 'longrope';
      readonly shortFactor: readonly number[];
      readonly longFactor: readonly number[];
      readonly originalMaxPositionEmbeddings: number;
      readonly attentionFactor: number;
    };

/** A RoPE base frequency with its scaling. */
export interface RotaryConfig {
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
}

/** Whether a layer attends to every earlier position or to a sliding window of them (Hugging Face's `layer_types`). */
export type LayerType = 'full_attention' | 'sliding_attention';

/** A validated `config.json` of a causal language model LoRAFuse runs. */
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
  /** Per-head size; when the file omits it, `hiddenSize / numAttentionHeads` (Qwen3: 128, Gemma 3: 256, as transformers). */
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly rmsNormEps: number;
  /** RoPE base frequency (`rope_theta`, or `rope_parameters.rope_theta` in transformers ≥ 5); Gemma 3: of its global layers. */
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  /**
   * The RoPE of the sliding-window layers when it differs from
   * {@link ModelConfig.ropeTheta}'s (Gemma 3's `rope_local_base_freq`), else `null`.
   */
  readonly localRope: RotaryConfig | null;
  /** The output projection reuses the token embedding (no `lm_head.weight` needed). */
  readonly tieWordEmbeddings: boolean;
  readonly maxPositionEmbeddings: number;
  /** The dtype the checkpoint declares (`dtype` or `torch_dtype`), when it is one LoRAFuse knows. */
  readonly dtype: 'f32' | 'f16' | 'bf16' | null;
  /** q/k/v projections have biases (Qwen2 always; Llama, Qwen3 and Gemma 3 with `attention_bias`). */
  readonly qkvBias: boolean;
  /** The attention output projection has a bias (Llama, Qwen3 and Gemma 3 with `attention_bias`). */
  readonly outputBias: boolean;
  /** The MLP projections have biases (Llama with `mlp_bias`). */
  readonly mlpBias: boolean;
  /** The attention window of the `sliding_attention` layers in tokens, or `null` when every layer attends to all positions. */
  readonly slidingWindow: number | null;
  /** Each layer's attention: the whole causal past, or the last {@link ModelConfig.slidingWindow} positions. */
  readonly layerTypes: readonly LayerType[];
  /** q/k/v are one fused `qkv_proj` and gate/up one `gate_up_proj` (Phi-3). */
  readonly fusedProjections: boolean;
  /** Queries and keys pass a per-head RMSNorm (`q_norm`, `k_norm` over `headDim`) before RoPE (Qwen3, Gemma 3). */
  readonly qkNorm: boolean;
  /**
   * Gemma's layer layout: RMSNorms scale by `1 + weight` (weights stored
   * centred on 0), the attention and MLP outputs pass their own norms
   * (`post_attention_layernorm`, `post_feedforward_layernorm`) before the
   * residual, the MLP input `pre_feedforward_layernorm`, and the token
   * embeddings are scaled by √hidden.
   */
  readonly gemmaNorms: boolean;
  /** The MLP's gate activation: SiLU (SwiGLU) or GELU's tanh approximation (GeGLU, `gelu_pytorch_tanh`). */
  readonly activation: 'silu' | 'gelu_tanh';
  /** The attention score scale: `1/√headDim`, or Gemma 3's `query_pre_attn_scalar^−½`. */
  readonly attentionScale: number;
  /** Final logits become `c · tanh(logits / c)` (Gemma's `final_logit_softcapping`), or `null`. */
  readonly finalLogitSoftcapping: number | null;
  /** The whole `config.json`, as read. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** A Hugging Face model folder opened for reading: its config and lazily read weights. */
export interface ModelCheckpoint {
  readonly config: ModelConfig;
  /** Every tensor of `model.safetensors` or of the shards of its index. */
  readonly weights: TensorStore;
}
