import { LoraFuseError } from '../errors/index.js';
import { isJsonObject } from '../io/index.js';
import type { ModelConfig, ModelType, RopeScaling } from './types.js';

const WHAT = 'config.json';

/** Per family: its causal-LM class and the transformers defaults for fields a config may omit. */
const FAMILIES: Readonly<Record<ModelType, { architecture: string; maxPositionEmbeddings: number; defaultSlidingWindow: number | null }>> = {
  llama: { architecture: 'LlamaForCausalLM', maxPositionEmbeddings: 2048, defaultSlidingWindow: null },
  mistral: { architecture: 'MistralForCausalLM', maxPositionEmbeddings: 4096 * 32, defaultSlidingWindow: 4096 },
  qwen2: { architecture: 'Qwen2ForCausalLM', maxPositionEmbeddings: 32768, defaultSlidingWindow: 4096 },
};

const DTYPES: Readonly<Record<string, ModelConfig['dtype']>> = { float32: 'f32', float16: 'f16', bfloat16: 'bf16' };

function invalid(key: string, expected: string, value: unknown): LoraFuseError {
  const got = value === undefined ? 'it is missing' : `got ${JSON.stringify(value)}`;
  return new LoraFuseError('MODEL_CONFIG_INVALID', `${WHAT}: "${key}" must be ${expected}; ${got}.`, { details: { key, value } });
}

function unsupported(message: string, details: Record<string, unknown>): LoraFuseError {
  return new LoraFuseError('MODEL_UNSUPPORTED', `${WHAT}: ${message}`, { details });
}

/** Reads typed fields of one JSON object, naming `prefix.key` in errors. */
function fields(json: Record<string, unknown>, prefix = '') {
  const name = (key: string) => prefix + key;
  return {
    positiveInt(key: string, fallback?: number): number {
      const v = json[key] ?? fallback;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw invalid(name(key), 'a positive integer', json[key]);
      return v;
    },
    positiveNumber(key: string, fallback?: number): number {
      const v = json[key] ?? fallback;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw invalid(name(key), 'a positive number', json[key]);
      return v;
    },
    bool(key: string, fallback: boolean): boolean {
      const v = json[key] ?? fallback;
      if (typeof v !== 'boolean') throw invalid(name(key), 'true or false', v);
      return v;
    },
  };
}

/**
 * Validates a parsed Hugging Face `config.json` of a Llama, Mistral or
 * Qwen2 causal LM and returns its typed form, with transformers' defaults
 * for omitted fields. Reads both the transformers ≥ 5 form
 * (`rope_parameters`) and the older one (`rope_theta` + `rope_scaling`).
 *
 * Throws `MODEL_CONFIG_INVALID` for missing, mistyped or inconsistent
 * fields, and `MODEL_UNSUPPORTED` for other model types and classes,
 * activations other than SiLU, RoPE scalings other than Llama 3's, partial
 * rotary embeddings, and quantized checkpoints.
 */
export function parseModelConfig(json: unknown): ModelConfig {
  if (!isJsonObject(json)) throw new LoraFuseError('MODEL_CONFIG_INVALID', `${WHAT} must hold a JSON object.`);
  const modelType = json.model_type;
  if (typeof modelType !== 'string') throw invalid('model_type', 'a string such as "llama"', modelType);
  if (!Object.hasOwn(FAMILIES, modelType)) {
    throw unsupported(`model_type "${modelType}" is not supported; LoRAFuse runs ${Object.keys(FAMILIES).join(', ')} models.`, { model_type: modelType });
  }
  const family = FAMILIES[modelType as ModelType];
  const architecture = parseArchitecture(json.architectures, family.architecture);
  if (json.quantization_config !== undefined && json.quantization_config !== null) {
    throw unsupported('the checkpoint is quantized (quantization_config); LoRAFuse needs f32, f16 or bf16 weights.', { key: 'quantization_config' });
  }
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu' && act !== 'swish')
    throw unsupported(`hidden_act "${String(act)}" is not supported; Llama-family models use "silu".`, { hidden_act: act });

  const f = fields(json);
  const hiddenSize = f.positiveInt('hidden_size');
  const numAttentionHeads = f.positiveInt('num_attention_heads');
  const numKeyValueHeads = f.positiveInt('num_key_value_heads', numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    throw invalid('num_key_value_heads', `a divisor of num_attention_heads (${numAttentionHeads})`, numKeyValueHeads);
  }
  if (json.head_dim == null && hiddenSize % numAttentionHeads !== 0) {
    throw invalid('head_dim', `given, since hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numAttentionHeads}`, json.head_dim);
  }
  const headDim = f.positiveInt('head_dim', hiddenSize / numAttentionHeads);
  if (headDim % 2 !== 0) throw invalid('head_dim', 'even (rotary embeddings rotate pairs of dimensions)', headDim);

  const dtypeName = json.dtype ?? json.torch_dtype ?? null;
  if (dtypeName !== null && typeof dtypeName !== 'string') throw invalid('dtype', 'a string such as "bfloat16"', dtypeName);
  const isQwen2 = modelType === 'qwen2';
  const isLlama = modelType === 'llama';
  const attentionBias = isLlama && f.bool('attention_bias', false);
  const useSlidingWindow = modelType === 'mistral' || (isQwen2 && f.bool('use_sliding_window', false));

  return Object.freeze({
    modelType: modelType as ModelType,
    architecture,
    hiddenSize,
    numHiddenLayers: f.positiveInt('num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    intermediateSize: f.positiveInt('intermediate_size'),
    vocabSize: f.positiveInt('vocab_size'),
    rmsNormEps: f.positiveNumber('rms_norm_eps', 1e-6),
    ...parseRope(json),
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    maxPositionEmbeddings: f.positiveInt('max_position_embeddings', family.maxPositionEmbeddings),
    dtype: dtypeName === null ? null : (DTYPES[dtypeName] ?? null),
    qkvBias: isQwen2 || attentionBias,
    outputBias: attentionBias,
    mlpBias: isLlama && f.bool('mlp_bias', false),
    slidingWindow: useSlidingWindow && json.sliding_window !== null ? f.positiveInt('sliding_window', family.defaultSlidingWindow ?? undefined) : null,
    raw: Object.freeze({ ...json }),
  });
}

function parseArchitecture(architectures: unknown, expected: string): string {
  if (architectures === undefined || architectures === null) return expected;
  if (!Array.isArray(architectures) || architectures.length === 0 || typeof architectures[0] !== 'string') {
    throw invalid('architectures', `a list of class names such as ["${expected}"]`, architectures);
  }
  if (architectures[0] !== expected) {
    throw unsupported(`architecture ${architectures[0]} is not supported; LoRAFuse runs ${expected} (a causal language model).`, {
      architecture: architectures[0],
    });
  }
  return expected;
}

/** RoPE theta and scaling from `rope_parameters` (transformers ≥ 5) or `rope_theta` + `rope_scaling`. */
function parseRope(json: Record<string, unknown>): { ropeTheta: number; ropeScaling: RopeScaling } {
  const key = json.rope_parameters != null ? 'rope_parameters' : 'rope_scaling';
  const params = json[key] ?? {};
  if (!isJsonObject(params)) throw invalid(key, 'an object or null', params);
  const thetaHolder = params.rope_theta !== undefined ? fields(params, `${key}.`) : fields(json);
  const ropeTheta = thetaHolder.positiveNumber('rope_theta', 10000);
  const partial = params.partial_rotary_factor ?? json.partial_rotary_factor ?? 1;
  if (partial !== 1)
    throw unsupported(`partial_rotary_factor ${JSON.stringify(partial)} is not supported; LoRAFuse rotates the whole head.`, {
      partial_rotary_factor: partial,
    });
  const type = params.rope_type ?? params.type ?? 'default';
  if (type === 'default') return { ropeTheta, ropeScaling: Object.freeze({ type }) };
  if (type !== 'llama3') {
    throw unsupported(`RoPE type ${JSON.stringify(type)} (${key}) is not supported; LoRAFuse implements "default" and "llama3".`, { key, rope_type: type });
  }
  const p = fields(params, `${key}.`);
  const ropeScaling = Object.freeze({
    type,
    factor: p.positiveNumber('factor'),
    lowFreqFactor: p.positiveNumber('low_freq_factor'),
    highFreqFactor: p.positiveNumber('high_freq_factor'),
    originalMaxPositionEmbeddings: p.positiveInt('original_max_position_embeddings'),
  });
  if (ropeScaling.highFreqFactor <= ropeScaling.lowFreqFactor) {
    throw invalid(`${key}.high_freq_factor`, `greater than low_freq_factor (${ropeScaling.lowFreqFactor})`, ropeScaling.highFreqFactor);
  }
  return { ropeTheta, ropeScaling };
}
