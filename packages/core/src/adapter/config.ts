import { LoraFuseError } from '../errors/index.js';
import { isJsonObject } from '../io/index.js';
import { fullMatchRegex, layerIndexRegex, patternKeyRegex } from './targeting.js';
import type { AdapterConfig } from './types.js';

const WHAT = 'adapter_config.json';

/** The keys {@link AdapterConfig} interprets, by their name in the file. */
const KNOWN = {
  peft_type: 'peftType',
  r: 'r',
  lora_alpha: 'loraAlpha',
  use_rslora: 'useRslora',
  rank_pattern: 'rankPattern',
  alpha_pattern: 'alphaPattern',
  target_modules: 'targetModules',
  exclude_modules: 'excludeModules',
  layers_to_transform: 'layersToTransform',
  layers_pattern: 'layersPattern',
  bias: 'bias',
  lora_dropout: 'loraDropout',
  task_type: 'taskType',
  base_model_name_or_path: 'baseModelNameOrPath',
} as const satisfies Record<string, keyof AdapterConfig>;

type FileKey = keyof typeof KNOWN;

/**
 * PEFT features whose saved adapters LoRAFuse cannot reproduce, by config
 * key. A `flag` must be a boolean (or null) and is refused when true; any
 * other key is refused when it holds a non-empty value.
 */
const UNSUPPORTED: ReadonlyArray<{ key: string; flag: boolean; feature: string }> = [
  { key: 'use_dora', flag: true, feature: 'DoRA (use_dora: true) adds a learned magnitude vector per module' },
  {
    key: 'fan_in_fan_out',
    flag: true,
    feature: 'fan_in_fan_out: true (Conv1D layers, as in GPT-2) stores weights transposed; Llama-family models use nn.Linear',
  },
  { key: 'lora_bias', flag: true, feature: 'lora_bias: true adds a trained bias to lora_B' },
  { key: 'use_qalora', flag: true, feature: 'QALoRA (use_qalora: true) targets quantized base models' },
  { key: 'modules_to_save', flag: false, feature: 'modules_to_save stores fully fine-tuned copies of whole modules' },
  { key: 'layer_replication', flag: false, feature: 'layer_replication duplicates base-model layers' },
  { key: 'target_parameters', flag: false, feature: 'target_parameters adapts raw parameters rather than linear modules' },
  { key: 'trainable_token_indices', flag: false, feature: 'trainable_token_indices trains embedding rows' },
  { key: 'alora_invocation_tokens', flag: false, feature: 'activated LoRA (alora_invocation_tokens) switches on mid-sequence' },
  { key: 'use_bdlora', flag: false, feature: 'block-diagonal LoRA (use_bdlora)' },
  { key: 'arrow_config', flag: false, feature: 'Arrow routing (arrow_config) mixes several adapters per token' },
];

function refuseUnsupported(json: Record<string, unknown>): void {
  for (const { key, flag, feature } of UNSUPPORTED) {
    const value = json[key] ?? null;
    if (flag && value !== null && typeof value !== 'boolean') throw invalid(key, 'true or false', value);
    if (flag ? value === true : nonEmpty(value)) {
      throw new LoraFuseError('ADAPTER_UNSUPPORTED', `${WHAT}: ${feature}, which LoRAFuse does not support. Use a plain LoRA adapter.`, {
        details: { key, value },
      });
    }
  }
}

function nonEmpty(value: unknown): boolean {
  if (value === null || value === false) return false;
  if (Array.isArray(value) || typeof value === 'string') return value.length > 0;
  if (isJsonObject(value)) return Object.keys(value).length > 0;
  return true;
}

function invalid(key: string, expected: string, value: unknown): LoraFuseError {
  const got = value === undefined ? 'it is missing' : `got ${JSON.stringify(value)}`;
  return new LoraFuseError('ADAPTER_CONFIG_INVALID', `${WHAT}: "${key}" must be ${expected}; ${got}.`, { details: { key, value } });
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

function positiveInt(json: Record<string, unknown>, key: string): number {
  const v = json[key];
  if (!isInt(v) || v < 1) throw invalid(key, 'a positive integer', v);
  return v;
}

function finiteNumber(json: Record<string, unknown>, key: string, fallback?: number): number {
  const v = json[key] ?? fallback;
  if (!isFiniteNumber(v)) throw invalid(key, 'a finite number', json[key]);
  return v;
}

function bool(json: Record<string, unknown>, key: string): boolean {
  const v = json[key] ?? false;
  if (typeof v !== 'boolean') throw invalid(key, 'true or false', v);
  return v;
}

function nullableString(json: Record<string, unknown>, key: string): string | null {
  const v = json[key] ?? null;
  if (v !== null && typeof v !== 'string') throw invalid(key, 'a string or null', v);
  return v;
}

function stringsOrRegex(json: Record<string, unknown>, key: string, required: boolean): readonly string[] | string | null {
  const v = json[key] ?? null;
  if (v === null && !required) return null;
  if (typeof v === 'string' || isStringList(v)) return v;
  throw invalid(key, required ? 'a list of module names or a regular expression' : 'a list of names, a regular expression or null', json[key]);
}

function pattern<T extends number>(json: Record<string, unknown>, key: string, check: (v: unknown) => v is T, expected: string): Record<string, T> {
  const v = json[key] ?? {};
  if (!isJsonObject(v)) throw invalid(key, 'an object mapping module patterns to values', v);
  for (const [k, value] of Object.entries(v)) {
    if (!check(value)) throw invalid(`${key}.${k}`, expected, value);
    patternKeyRegex(k, key);
  }
  return { ...(v as Record<string, T>) };
}

const isRank = (v: unknown): v is number => isInt(v) && v >= 1;

/**
 * Validates a parsed `adapter_config.json` and returns its typed form.
 * `peft_type`, `r`, `lora_alpha` and `target_modules` are required; other
 * fields take PEFT's defaults; unknown keys are kept in `extra`.
 *
 * Throws `ADAPTER_CONFIG_INVALID` for missing or mistyped fields and
 * `ADAPTER_UNSUPPORTED`, naming the feature, for adapters LoRAFuse cannot
 * load faithfully: a `peft_type` other than `LORA`, DoRA, `fan_in_fan_out`,
 * `lora_bias`, `modules_to_save`, layer replication, and other PEFT
 * extensions that add weights or change the forward pass.
 */
export function parseAdapterConfig(json: unknown): AdapterConfig {
  if (!isJsonObject(json)) {
    throw new LoraFuseError(
      'ADAPTER_CONFIG_INVALID',
      `${WHAT} must hold a JSON object; got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}.`,
    );
  }
  const peftType = json.peft_type;
  if (typeof peftType !== 'string') throw invalid('peft_type', 'a string such as "LORA"', peftType);
  if (peftType !== 'LORA') {
    throw new LoraFuseError('ADAPTER_UNSUPPORTED', `${WHAT}: peft_type "${peftType}" is not supported; LoRAFuse loads LoRA adapters (peft_type "LORA") only.`, {
      details: { key: 'peft_type', value: peftType },
    });
  }
  refuseUnsupported(json);

  const targetModules = stringsOrRegex(json, 'target_modules', true)!;
  const layersToTransform = json.layers_to_transform ?? null;
  if (
    layersToTransform !== null &&
    !(isInt(layersToTransform) && layersToTransform >= 0) &&
    !(Array.isArray(layersToTransform) && layersToTransform.every((i) => isInt(i) && i >= 0))
  ) {
    throw invalid('layers_to_transform', 'a layer index, a list of layer indices or null', layersToTransform);
  }
  const layersPattern = stringsOrRegex(json, 'layers_pattern', false);
  // The same consistency rules PEFT's LoraConfig enforces.
  if (typeof targetModules === 'string' && (layersToTransform !== null || layersPattern !== null)) {
    const key = layersToTransform !== null ? 'layers_to_transform' : 'layers_pattern';
    throw invalid(key, 'null when target_modules is a regular expression (PEFT refuses the combination)', json[key]);
  }
  if (layersPattern !== null && layersPattern.length > 0 && layersToTransform === null) {
    throw invalid('layers_to_transform', 'set when layers_pattern is set', layersToTransform);
  }
  // Compile every regular expression now, so a bad one fails here rather than mid-load.
  const excludeModules = stringsOrRegex(json, 'exclude_modules', false);
  for (const [field, value] of [
    ['target_modules', targetModules],
    ['exclude_modules', excludeModules],
  ] as const) {
    if (typeof value === 'string') fullMatchRegex(value, field);
  }
  for (const p of typeof layersPattern === 'string' ? [layersPattern] : (layersPattern ?? [])) layerIndexRegex(p);

  const bias = json.bias ?? 'none';
  if (bias !== 'none' && bias !== 'all' && bias !== 'lora_only') throw invalid('bias', '"none", "all" or "lora_only"', bias);
  const loraDropout = finiteNumber(json, 'lora_dropout', 0);
  if (loraDropout < 0 || loraDropout >= 1) throw invalid('lora_dropout', 'a probability in [0, 1)', loraDropout);

  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) if (!Object.hasOwn(KNOWN, key)) extra[key] = value;

  return Object.freeze({
    peftType: 'LORA',
    r: positiveInt(json, 'r'),
    loraAlpha: finiteNumber(json, 'lora_alpha'),
    useRslora: bool(json, 'use_rslora'),
    rankPattern: Object.freeze(pattern(json, 'rank_pattern', isRank, 'a positive integer rank')),
    alphaPattern: Object.freeze(pattern(json, 'alpha_pattern', isFiniteNumber, 'a finite number')),
    targetModules,
    excludeModules,
    layersToTransform: layersToTransform as AdapterConfig['layersToTransform'],
    layersPattern,
    bias,
    loraDropout,
    taskType: nullableString(json, 'task_type'),
    baseModelNameOrPath: nullableString(json, 'base_model_name_or_path'),
    extra: Object.freeze(extra),
  });
}

/**
 * The JSON object `adapter_config.json` holds for `config`: the interpreted
 * fields under their PEFT names plus every preserved key, sorted by key as
 * PEFT writes them.
 */
export function adapterConfigToJson(config: AdapterConfig): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...config.extra };
  for (const [fileKey, field] of Object.entries(KNOWN) as Array<[FileKey, keyof AdapterConfig]>) merged[fileKey] = config[field];
  return Object.fromEntries(
    Object.keys(merged)
      .sort()
      .map((k) => [k, merged[k]]),
  );
}

/** What {@link createAdapterConfig} needs: the rank, alpha and targets; everything else has PEFT's default. */
export type AdapterConfigOptions = Pick<AdapterConfig, 'r' | 'loraAlpha' | 'targetModules'> & Partial<Omit<AdapterConfig, 'peftType'>>;

/**
 * A new LoRA config with PEFT's defaults for everything not given, validated
 * like a loaded one. The file it saves to is one PEFT loads as is.
 */
export function createAdapterConfig(options: AdapterConfigOptions): AdapterConfig {
  const defaults = {
    ...options,
    extra: { fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, modules_to_save: null, use_dora: false, ...options.extra },
  };
  const json: Record<string, unknown> = { ...defaults.extra, peft_type: 'LORA' };
  for (const [fileKey, field] of Object.entries(KNOWN) as Array<[FileKey, keyof AdapterConfig]>) {
    if (field !== 'peftType' && defaults[field] !== undefined) json[fileKey] = defaults[field];
  }
  return parseAdapterConfig(json);
}
