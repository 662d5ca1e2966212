import type { Tensor } from '../tensor/index.js';

/**
 * The parts of a PEFT `adapter_config.json` that LoRAFuse interprets, in
 * camelCase. Every other key of the file is kept verbatim in `extra` and
 * written back on save, so configs round-trip through LoRAFuse.
 */
export interface AdapterConfig {
  /** `peft_type`; only LoRA is supported. */
  readonly peftType: 'LORA';
  /** `r`: the default rank. */
  readonly r: number;
  /** `lora_alpha`: the default alpha. */
  readonly loraAlpha: number;
  /** `use_rslora`: scaling is alpha/√r instead of alpha/r. */
  readonly useRslora: boolean;
  /** `rank_pattern`: per-module rank overrides, keyed by PEFT pattern (first match wins). */
  readonly rankPattern: Readonly<Record<string, number>>;
  /** `alpha_pattern`: per-module alpha overrides, keyed by PEFT pattern (first match wins). */
  readonly alphaPattern: Readonly<Record<string, number>>;
  /** `target_modules`: module-name suffixes, or one regular expression matched against the full name. */
  readonly targetModules: readonly string[] | string;
  /** `exclude_modules`: suffixes or a regular expression of modules never adapted. */
  readonly excludeModules: readonly string[] | string | null;
  /** `layers_to_transform`: the layer indices adapted (all when `null`). */
  readonly layersToTransform: readonly number[] | number | null;
  /** `layers_pattern`: the name(s) of the layer list whose index `layersToTransform` selects. */
  readonly layersPattern: readonly string[] | string | null;
  /** `bias`: which biases were trained; only `"none"` can carry weights LoRAFuse loads. */
  readonly bias: 'none' | 'all' | 'lora_only';
  /** `lora_dropout`: dropout probability on the LoRA input during training. */
  readonly loraDropout: number;
  /** `task_type`, e.g. `"CAUSAL_LM"`. */
  readonly taskType: string | null;
  /** `base_model_name_or_path`: the model the adapter was trained on. */
  readonly baseModelNameOrPath: string | null;
  /** Every other key of the file, as read (written back unchanged). */
  readonly extra: Readonly<Record<string, unknown>>;
}

/**
 * One LoRA module: the update `scaling · B·A` to the weight `[out, in]` of
 * the base-model linear layer `name`.
 */
export interface LoraModule {
  /** The base-model module path, e.g. `model.layers.0.self_attn.q_proj`. */
  readonly name: string;
  /** A: `[rank, in]`. */
  readonly a: Tensor;
  /** B: `[out, rank]`. */
  readonly b: Tensor;
  /** The rank (rows of A, columns of B). */
  readonly rank: number;
  /** Alpha for this module (after `alpha_pattern`). */
  readonly alpha: number;
  /** The factor PEFT applies: alpha/rank, or alpha/√rank with rsLoRA. */
  readonly scaling: number;
}

/** A LoRA adapter: its config and its modules (in natural name order when loaded). */
export interface LoraAdapter {
  /** The adapter configuration. */
  readonly config: AdapterConfig;
  /** The LoRA modules, one per adapted linear layer. */
  readonly modules: readonly LoraModule[];
}
