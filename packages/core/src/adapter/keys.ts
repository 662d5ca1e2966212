/** The config file of a PEFT adapter folder. */
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
/** The weights file of a PEFT adapter folder. */
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** The prefix PEFT gives every tensor of a saved adapter (`PeftModel.base_model.model`). */
const PEFT_PREFIX = 'base_model.model.';

/** A tensor name of an adapter file, classified. */
export type AdapterKey =
  | { kind: 'factor'; module: string; factor: 'A' | 'B' }
  /** A PEFT weight LoRAFuse recognises but does not support; `feature` says which. */
  | { kind: 'unsupported'; module: string; feature: string }
  | { kind: 'unknown' };

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Classifies a tensor name of `adapter_model.safetensors`. PEFT saves LoRA
 * factors as `base_model.model.<module>.lora_A.weight` (and `lora_B`);
 * a raw `state_dict()` keeps the adapter name, `…lora_A.<adapterName>.weight`.
 */
export function parseAdapterKey(key: string, adapterName: string): AdapterKey {
  if (!key.startsWith(PEFT_PREFIX)) return { kind: 'unknown' };
  const rest = key.slice(PEFT_PREFIX.length);
  const name = `(?:\\.${escapeRegex(adapterName)})?`;
  const factor = new RegExp(`^(.+)\\.lora_([AB])${name}\\.weight$`).exec(rest);
  if (factor) return { kind: 'factor', module: factor[1], factor: factor[2] as 'A' | 'B' };
  const others: Array<[RegExp, string]> = [
    [new RegExp(`^(.+)\\.lora_magnitude_vector${name}(?:\\.weight)?$`), 'a DoRA magnitude vector'],
    [new RegExp(`^(.+)\\.lora_embedding_[AB]${name}$`), 'a LoRA on an embedding layer'],
    [new RegExp(`^(.+)\\.lora_B${name}\\.bias$`), 'a lora_B bias (lora_bias)'],
    [/^(.+)\.bias$/, 'a trained bias of the base model (bias "all" or "lora_only")'],
  ];
  for (const [re, feature] of others) {
    const m = re.exec(rest);
    if (m) return { kind: 'unsupported', module: m[1], feature };
  }
  return { kind: 'unknown' };
}

/** The name PEFT saves a factor under. */
export function adapterKey(module: string, factor: 'A' | 'B'): string {
  return `${PEFT_PREFIX}${module}.lora_${factor}.weight`;
}
