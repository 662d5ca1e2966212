import type { ModelCheckpoint, ModelConfig } from './types.js';
import { expectedModelWeights } from './weights.js';

/** What `lorafuse info --json` prints for a model folder (DESIGN §5; keys are stable). */
export interface ModelDescription {
  kind: 'model';
  /** The model class, e.g. `LlamaForCausalLM`. */
  architecture: string;
  /** The interpreted config, under Hugging Face's key names. */
  config: Record<string, unknown>;
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
      rope_scaling: ropeScalingJson(c),
      tie_word_embeddings: c.tieWordEmbeddings,
      max_position_embeddings: c.maxPositionEmbeddings,
      sliding_window: c.slidingWindow,
      dtype: c.dtype,
    },
    parameters: expectedModelWeights(c).reduce((n, w) => n + model.weights.info(w.name).size, 0),
  };
}

function ropeScalingJson(c: ModelConfig): Record<string, unknown> | null {
  const s = c.ropeScaling;
  if (s.type === 'default') return null;
  return {
    rope_type: s.type,
    factor: s.factor,
    low_freq_factor: s.lowFreqFactor,
    high_freq_factor: s.highFreqFactor,
    original_max_position_embeddings: s.originalMaxPositionEmbeddings,
  };
}
