import { loraTargetNames } from './projections.js';
import type { ModelCheckpoint, RopeScaling } from './types.js';
import { expectedModelWeights } from './weights.js';

/** What `lorafuse info --json` prints for a model folder (DESIGN §5; keys are stable). */
export interface ModelDescription {
  kind: 'model';
  /** The model class, e.g. `LlamaForCausalLM`. */
  architecture: string;
  /** The interpreted config, under Hugging Face's key names. */
  config: Record<string, unknown>;
  /** The names LoRA `target_modules` can select: the model's adaptable projections (e.g. `q_proj` … `down_proj`, Phi-3's `qkv_proj`). */
  lora_targets: string[];
  /** Elements of the weights the model uses (a tied embedding counts once). */
  parameters: number;
}

/** The `info` summary of an opened model folder. */
export function describeModel(model: ModelCheckpoint): ModelDescription {
  const c = model.config;
  return {
    kind: 'model',
    architecture: c.architecture,
    config: {
      model_type: c.modelType,
      hidden_size: c.hiddenSize,
      num_hidden_layers: c.numHiddenLayers,
      num_attention_heads: c.numAttentionHeads,
      num_key_value_heads: c.numKeyValueHeads,
      head_dim: c.headDim,
      intermediate_size: c.intermediateSize,
      vocab_size: c.vocabSize,
      rms_norm_eps: c.rmsNormEps,
      rope_theta: c.ropeTheta,
      rope_scaling: ropeScalingJson(c.ropeScaling),
      ...(c.localRope && { rope_local_base_freq: c.localRope.ropeTheta, rope_local_scaling: ropeScalingJson(c.localRope.ropeScaling) }),
      tie_word_embeddings: c.tieWordEmbeddings,
      max_position_embeddings: c.maxPositionEmbeddings,
      sliding_window: c.slidingWindow,
      layer_types: c.layerTypes,
      hidden_activation: c.activation === 'silu' ? 'silu' : 'gelu_pytorch_tanh',
      final_logit_softcapping: c.finalLogitSoftcapping,
      dtype: c.dtype,
    },
    lora_targets: loraTargetNames(c),
    parameters: expectedModelWeights(c).reduce((n, w) => n + model.weights.info(w.name).size, 0),
  };
}

/** A RoPE scaling under Hugging Face's key names; `null` for plain RoPE. */
function ropeScalingJson(s: RopeScaling): Record<string, unknown> | null {
  switch (s.type) {
    case 'default':
      return null;
    case 'linear':
      return { rope_type: s.type, factor: s.factor };
    case 'llama3':
      return {
        rope_type: s.type,
        factor: s.factor,
        low_freq_factor: s.lowFreqFactor,
        high_freq_factor: s.highFreqFactor,
        original_max_position_embeddings: s.originalMaxPositionEmbeddings,
      };
    case 'longrope':
      return {
        rope_type: s.type,
        short_factor: s.shortFactor,
        long_factor: s.longFactor,
        original_max_position_embeddings: s.originalMaxPositionEmbeddings,
        attention_factor: s.attentionFactor,
      };
  }
}
