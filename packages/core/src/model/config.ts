import { LoraFuseError } from '../errors/index.js';
import { isJsonObject } from '../io/index.js';
import type { LayerType, ModelConfig, ModelType, RopeScaling, RotaryConfig } from './types.js';

const WHAT = 'config.json';

/** Per family: its causal-LM class and the transformers defaults for fields a config may omit. */
interface Family {
  readonly architecture: string;
  readonly maxPositionEmbeddings: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly tieWordEmbeddings: boolean;
  /** An explicit `head_dim` default (else `hidden_size / num_attention_heads`). */
  readonly headDim?: number;
}

const FAMILIES: Readonly<Record<ModelType, Family>> = {
  llama: { architecture: 'LlamaForCausalLM', maxPositionEmbeddings: 2048, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false },
  mistral: { architecture: 'MistralForCausalLM', maxPositionEmbeddings: 4096 * 32, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false },
  qwen2: { architecture: 'Qwen2ForCausalLM', maxPositionEmbeddings: 32768, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false },
  qwen3: { architecture: 'Qwen3ForCausalLM', maxPositionEmbeddings: 32768, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false, headDim: 128 },
  gemma3_text: {
    architecture: 'Gemma3ForCausalLM',
    maxPositionEmbeddings: 131072,
    rmsNormEps: 1e-6,
    ropeTheta: 1_000_000,
    tieWordEmbeddings: true,
    headDim: 256,
  },
  phi3: { architecture: 'Phi3ForCausalLM', maxPositionEmbeddings: 4096, rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: false },
};

/** Gemma 3's defaults: the sliding layers' RoPE base, the window, one global layer in six, the attention scalar. */
const GEMMA3 = { localRopeTheta: 10000, slidingWindow: 4096, slidingWindowPattern: 6, queryPreAttnScalar: 256 } as const;
/** Qwen2/Qwen3's defaults for `use_sliding_window` configs: the window and the first layer that uses it. */
const QWEN = { slidingWindow: 4096, maxWindowLayers: 28 } as const;

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
 * Validates a parsed Hugging Face `config.json` of a Llama, Mistral, Qwen2,
 * Qwen3, Gemma 3 (text, `gemma3_text`) or Phi-3 causal LM and returns its
 * typed form, with transformers' defaults for omitted fields. Reads both
 * the transformers ≥ 5 form (`rope_parameters`, per layer type for Gemma 3)
 * and the older one (`rope_theta` + `rope_scaling`, `rope_local_base_freq`).
 *
 * Throws `MODEL_CONFIG_INVALID` for missing, mistyped or inconsistent
 * fields, and `MODEL_UNSUPPORTED` for other model types and classes,
 * activations other than SiLU (GELU's tanh form for Gemma 3), RoPE
 * scalings other than linear, Llama 3's and LongRoPE, partial rotary
 * embeddings, bidirectional attention, and quantized checkpoints.
 */
export function parseModelConfig(json: unknown): ModelConfig {
  if (!isJsonObject(json)) throw new LoraFuseError('MODEL_CONFIG_INVALID', `${WHAT} must hold a JSON object.`);
  const modelType = json.model_type;
  if (typeof modelType !== 'string') throw invalid('model_type', 'a string such as "llama"', modelType);
  if (!Object.hasOwn(FAMILIES, modelType)) {
    const hint = modelType === 'gemma3' ? ' Gemma 3 models with vision (Gemma3ForConditionalGeneration) are not; the text-only ones (gemma3_text) are.' : '';
    throw unsupported(`model_type "${modelType}" is not supported; LoRAFuse runs ${Object.keys(FAMILIES).join(', ')} models.${hint}`, {
      model_type: modelType,
    });
  }
  const type = modelType as ModelType;
  const family = FAMILIES[type];
  const architecture = parseArchitecture(json.architectures, family.architecture);
  if (json.quantization_config !== undefined && json.quantization_config !== null) {
    throw unsupported('the checkpoint is quantized (quantization_config); LoRAFuse needs f32, f16 or bf16 weights.', { key: 'quantization_config' });
  }
  const gemma = type === 'gemma3_text';
  const activation = parseActivation(json, gemma);
  if (gemma && json.use_bidirectional_attention === true) {
    throw unsupported('use_bidirectional_attention is not supported; LoRAFuse runs causal language models.', { use_bidirectional_attention: true });
  }

  const f = fields(json);
  const hiddenSize = f.positiveInt('hidden_size');
  const numHiddenLayers = f.positiveInt('num_hidden_layers');
  const numAttentionHeads = f.positiveInt('num_attention_heads');
  const numKeyValueHeads = f.positiveInt('num_key_value_heads', numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    throw invalid('num_key_value_heads', `a divisor of num_attention_heads (${numAttentionHeads})`, numKeyValueHeads);
  }
  if (json.head_dim == null && family.headDim === undefined && hiddenSize % numAttentionHeads !== 0) {
    throw invalid('head_dim', `given, since hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numAttentionHeads}`, json.head_dim);
  }
  const headDim = f.positiveInt('head_dim', family.headDim ?? hiddenSize / numAttentionHeads);
  if (headDim % 2 !== 0) throw invalid('head_dim', 'even (rotary embeddings rotate pairs of dimensions)', headDim);
  const maxPositionEmbeddings = f.positiveInt('max_position_embeddings', family.maxPositionEmbeddings);

  const dtypeName = json.dtype ?? json.torch_dtype ?? null;
  if (dtypeName !== null && typeof dtypeName !== 'string') throw invalid('dtype', 'a string such as "bfloat16"', dtypeName);
  const attentionBias = (type === 'llama' || type === 'qwen3' || gemma) && f.bool('attention_bias', false);
  const softcap = gemma ? json.final_logit_softcapping : null;
  if (softcap != null) f.positiveNumber('final_logit_softcapping');

  return Object.freeze({
    modelType: type,
    architecture,
    hiddenSize,
    numHiddenLayers,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    intermediateSize: f.positiveInt('intermediate_size'),
    vocabSize: f.positiveInt('vocab_size'),
    rmsNormEps: f.positiveNumber('rms_norm_eps', family.rmsNormEps),
    ...parseRope(json, type, { headDim, maxPositionEmbeddings, defaultTheta: family.ropeTheta }),
    tieWordEmbeddings: f.bool('tie_word_embeddings', family.tieWordEmbeddings),
    maxPositionEmbeddings,
    dtype: dtypeName === null ? null : (DTYPES[dtypeName] ?? null),
    qkvBias: type === 'qwen2' || attentionBias,
    outputBias: attentionBias,
    mlpBias: type === 'llama' && f.bool('mlp_bias', false),
    ...parseLayerTypes(json, type, numHiddenLayers),
    fusedProjections: type === 'phi3',
    qkNorm: type === 'qwen3' || gemma,
    gemmaNorms: gemma,
    activation,
    attentionScale: 1 / Math.sqrt(gemma ? f.positiveNumber('query_pre_attn_scalar', GEMMA3.queryPreAttnScalar) : headDim),
    finalLogitSoftcapping: softcap == null ? null : (softcap as number),
    raw: Object.freeze({ ...json }),
  });
}

/** The MLP activation: SiLU (`hidden_act`), or for Gemma 3 GELU's tanh approximation (`hidden_activation`). */
function parseActivation(json: Record<string, unknown>, gemma: boolean): ModelConfig['activation'] {
  if (gemma) {
    const act = json.hidden_activation ?? 'gelu_pytorch_tanh';
    if (act !== 'gelu_pytorch_tanh' && act !== 'gelu_new') {
      throw unsupported(`hidden_activation "${String(act)}" is not supported; Gemma 3 uses "gelu_pytorch_tanh".`, { hidden_activation: act });
    }
    return 'gelu_tanh';
  }
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu' && act !== 'swish')
    throw unsupported(`hidden_act "${String(act)}" is not supported; Llama-family models use "silu".`, { hidden_act: act });
  return 'silu';
}

/**
 * The sliding window and each layer's attention, as transformers derives
 * them: Mistral and Phi-3 slide every layer when `sliding_window` is set;
 * Qwen2/Qwen3 (with `use_sliding_window`) the layers from
 * `max_window_layers` on; Gemma 3 all but every `sliding_window_pattern`-th
 * layer. An explicit `layer_types` list wins.
 */
function parseLayerTypes(json: Record<string, unknown>, type: ModelType, layers: number): Pick<ModelConfig, 'slidingWindow' | 'layerTypes'> {
  const f = fields(json);
  const windowOf = (fallback: number | undefined) => (json.sliding_window === null ? null : f.positiveInt('sliding_window', fallback));
  let window: number | null = null;
  let sliding = (_layer: number) => true;
  if (type === 'mistral') window = windowOf(4096);
  else if (type === 'phi3') window = json.sliding_window == null ? null : windowOf(undefined);
  else if (type === 'qwen2' || type === 'qwen3') {
    window = f.bool('use_sliding_window', false) ? windowOf(QWEN.slidingWindow) : null;
    const first = f.positiveInt('max_window_layers', QWEN.maxWindowLayers);
    sliding = (layer) => layer >= first;
  } else if (type === 'gemma3_text') {
    window = windowOf(GEMMA3.slidingWindow);
    const pattern = f.positiveInt('sliding_window_pattern', GEMMA3.slidingWindowPattern);
    sliding = (layer) => (layer + 1) % pattern !== 0;
  }
  if (window === null) return { slidingWindow: null, layerTypes: Object.freeze(new Array<LayerType>(layers).fill('full_attention')) };
  const listed = json.layer_types;
  if (listed == null)
    return {
      slidingWindow: window,
      layerTypes: Object.freeze(Array.from({ length: layers }, (_, i) => (sliding(i) ? 'sliding_attention' : 'full_attention'))),
    };
  if (!Array.isArray(listed) || listed.length !== layers) throw invalid('layer_types', `a list of ${layers} layer types (one per layer)`, listed);
  for (const t of listed) {
    if (t !== 'full_attention' && t !== 'sliding_attention') {
      throw unsupported(`layer type ${JSON.stringify(t)} (layer_types) is not supported; LoRAFuse runs "full_attention" and "sliding_attention" layers.`, {
        layer_type: t,
      });
    }
  }
  return { slidingWindow: window, layerTypes: Object.freeze([...(listed as LayerType[])]) };
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

/** What RoPE parsing needs besides the RoPE fields themselves. */
interface RopeContext {
  readonly headDim: number;
  readonly maxPositionEmbeddings: number;
  /** The family's `rope_theta` default. */
  readonly defaultTheta: number;
}

/**
 * RoPE theta and scaling from `rope_parameters` (transformers ≥ 5) or
 * `rope_theta` + `rope_scaling`; for Gemma 3 both layer types' (the
 * sliding ones in `localRope`), from `rope_parameters.full_attention` /
 * `.sliding_attention` or `rope_theta` + `rope_scaling` and
 * `rope_local_base_freq`.
 */
function parseRope(json: Record<string, unknown>, type: ModelType, context: RopeContext): RotaryConfig & { localRope: RotaryConfig | null } {
  const partial = (isJsonObject(json.rope_parameters) ? json.rope_parameters.partial_rotary_factor : undefined) ?? json.partial_rotary_factor ?? 1;
  if (partial !== 1)
    throw unsupported(`partial_rotary_factor ${JSON.stringify(partial)} is not supported; LoRAFuse rotates the whole head.`, {
      partial_rotary_factor: partial,
    });
  if (type !== 'gemma3_text') {
    const key = json.rope_parameters != null ? 'rope_parameters' : 'rope_scaling';
    const params = json[key] ?? {};
    if (!isJsonObject(params)) throw invalid(key, 'an object or null', params);
    const theta =
      params.rope_theta !== undefined
        ? fields(params, `${key}.`).positiveNumber('rope_theta')
        : fields(json).positiveNumber('rope_theta', context.defaultTheta);
    return { ...parseRotary(json, type, params, key, theta, context), localRope: null };
  }
  const nested = json.rope_parameters ?? {};
  if (!isJsonObject(nested)) throw invalid('rope_parameters', 'an object or null', nested);
  const entry = (layerType: LayerType) => {
    const value = nested[layerType] ?? { rope_type: 'default' };
    if (!isJsonObject(value)) throw invalid(`rope_parameters.${layerType}`, 'an object', value);
    return value;
  };
  const scaling = json.rope_scaling ?? {};
  if (!isJsonObject(scaling)) throw invalid('rope_scaling', 'an object or null', scaling);
  // transformers applies rope_scaling to the global layers, whatever rope_parameters says.
  const full = { ...entry('full_attention'), ...scaling };
  const local = entry('sliding_attention');
  const f = fields(json);
  const theta = (params: Record<string, unknown>, key: string, fallback: () => number) =>
    params.rope_theta !== undefined ? fields(params, `${key}.`).positiveNumber('rope_theta') : fallback();
  const fullKey = 'rope_parameters.full_attention';
  const localKey = 'rope_parameters.sliding_attention';
  return {
    ...parseRotary(
      json,
      type,
      full,
      fullKey,
      theta(full, fullKey, () => f.positiveNumber('rope_theta', context.defaultTheta)),
      context,
    ),
    localRope: parseRotary(
      json,
      type,
      local,
      localKey,
      theta(local, localKey, () => f.positiveNumber('rope_local_base_freq', GEMMA3.localRopeTheta)),
      context,
    ),
  };
}

/** One RoPE: `params` is the `rope_parameters` (or `rope_scaling`) object named `key`, `ropeTheta` its base. */
function parseRotary(
  json: Record<string, unknown>,
  type: ModelType,
  params: Record<string, unknown>,
  key: string,
  ropeTheta: number,
  context: RopeContext,
): RotaryConfig {
  const named = params.rope_type ?? params.type ?? 'default';
  // Phi-3's older names of LongRoPE, as transformers' Phi3Config renames them.
  const kind = type === 'phi3' && (named === 'su' || named === 'yarn') ? 'longrope' : named;
  const p = fields(params, `${key}.`);
  switch (kind) {
    case 'default':
      return { ropeTheta, ropeScaling: Object.freeze({ type: 'default' as const }) };
    case 'linear':
      return { ropeTheta, ropeScaling: Object.freeze({ type: 'linear' as const, factor: p.positiveNumber('factor') }) };
    case 'llama3': {
      const ropeScaling = Object.freeze({
        type: 'llama3' as const,
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
    case 'longrope':
      return { ropeTheta, ropeScaling: parseLongRope(json, type, params, key, context) };
    default:
      throw unsupported(`RoPE type ${JSON.stringify(named)} (${key}) is not supported; LoRAFuse implements "default", "linear", "llama3" and "longrope".`, {
        key,
        rope_type: named,
      });
  }
}

/**
 * LongRoPE as transformers computes it: the pretraining length from the
 * top-level `original_max_position_embeddings` for Phi-3 (its config
 * prefers it; default 4096), else from the RoPE parameters; `factor`
 * defaulting to `max_position_embeddings / original`, and the cos/sin
 * scale `attention_factor` to `√(1 + ln factor / ln original)` (1 when
 * `factor ≤ 1`).
 */
function parseLongRope(json: Record<string, unknown>, type: ModelType, params: Record<string, unknown>, key: string, context: RopeContext): RopeScaling {
  const p = fields(params, `${key}.`);
  const half = context.headDim / 2;
  const factors = (name: string) => {
    const list = params[name];
    if (!Array.isArray(list) || list.length !== half || !list.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
      throw invalid(`${key}.${name}`, `a list of ${half} positive numbers (one per rotated pair of head_dim ${context.headDim})`, list);
    }
    return Object.freeze([...(list as number[])]);
  };
  const original =
    type === 'phi3'
      ? fields(json).positiveInt('original_max_position_embeddings', 4096)
      : p.positiveInt('original_max_position_embeddings', context.maxPositionEmbeddings);
  const factor = p.positiveNumber('factor', context.maxPositionEmbeddings / original);
  const fallback = factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
  return Object.freeze({
    type: 'longrope',
    shortFactor: factors('short_factor'),
    longFactor: factors('long_factor'),
    originalMaxPositionEmbeddings: original,
    attentionFactor: p.positiveNumber('attention_factor', fallback),
  });
}
