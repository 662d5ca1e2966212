import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import { readJsonFile, type Folder, type JsonLimits } from '../io/index.js';
import { SafetensorsFile, type SafetensorsLimits, type TensorInfo } from '../io/safetensors/index.js';
import { parseAdapterConfig } from './config.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, parseAdapterKey } from './keys.js';
import { checkFactors, compareModuleNames, createLoraModule } from './module.js';
import { REGEX_LIMITS } from '../regex/guard.js';
import { isTargetModule, moduleHyperparameters } from './targeting.js';
import type { AdapterConfig, LoraAdapter, LoraModule } from './types.js';

/** Options of {@link loadAdapter}. */
export interface LoadAdapterOptions {
  /** The adapter name that raw `state_dict()` keys may carry (`…lora_A.<name>.weight`). Default `"default"`. */
  adapterName?: string;
  /** Limits for the weights file. */
  limits?: SafetensorsLimits;
  /** Limits for `adapter_config.json`. */
  jsonLimits?: JsonLimits;
  /** Cancels loading. */
  signal?: AbortSignal;
}

/** Reads and validates `adapter_config.json` of an adapter folder (`ADAPTER_CONFIG_MISSING` when absent). */
export async function loadAdapterConfig(folder: Folder, options: Pick<LoadAdapterOptions, 'jsonLimits' | 'signal'> = {}): Promise<AdapterConfig> {
  if (!(await folder.exists(ADAPTER_CONFIG_FILE))) {
    throw new LoraFuseError(
      'ADAPTER_CONFIG_MISSING',
      `${folder.name} has no ${ADAPTER_CONFIG_FILE}; a PEFT adapter folder holds ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE}.`,
      {
        details: { folder: folder.name },
      },
    );
  }
  return parseAdapterConfig(await readJsonFile(folder, ADAPTER_CONFIG_FILE, options.jsonLimits, options.signal));
}

/**
 * Loads a PEFT LoRA adapter folder (`adapter_config.json` +
 * `adapter_model.safetensors`), as PEFT 0.21 saves it.
 *
 * Every tensor must be a LoRA factor of a module the config targets, with
 * both factors present and the rank the config gives that module. Throws
 * `ADAPTER_CONFIG_MISSING`, `ADAPTER_WEIGHTS_MISSING`, the codes of
 * {@link parseAdapterConfig}, `ADAPTER_UNKNOWN_TENSOR`,
 * `ADAPTER_UNSUPPORTED` (DoRA magnitudes, embedding LoRA, trained biases),
 * `ADAPTER_MODULE_INCOMPLETE`, `ADAPTER_RANK_MISMATCH`, `SHAPE_MISMATCH`,
 * `UNSUPPORTED_DTYPE`, and the safetensors codes for a malformed file.
 */
export async function loadAdapter(folder: Folder, options: LoadAdapterOptions = {}): Promise<LoraAdapter> {
  const { adapterName = 'default', limits, signal } = options;
  const config = await loadAdapterConfig(folder, options);
  if (!(await folder.exists(ADAPTER_WEIGHTS_FILE))) {
    const hint = (await folder.exists('adapter_model.bin'))
      ? ' It has adapter_model.bin (PyTorch pickle), which LoRAFuse does not read: resave the adapter with safe_serialization=True.'
      : '';
    throw new LoraFuseError('ADAPTER_WEIGHTS_MISSING', `${folder.name} has no ${ADAPTER_WEIGHTS_FILE}.${hint}`, { details: { folder: folder.name } });
  }
  const file = await SafetensorsFile.open(await folder.open(ADAPTER_WEIGHTS_FILE), limits, signal);
  const where = `${folder.name}/${ADAPTER_WEIGHTS_FILE}`;
  const pairs = pairFactors(file.tensors, config, adapterName, where);

  const modules: LoraModule[] = [];
  for (const [name, { A, B }] of [...pairs].sort(([x], [y]) => compareModuleNames(x, y))) {
    throwIfAborted(signal);
    checkFactors(name, A, B, moduleHyperparameters(config, name).rank, where);
    modules.push(createLoraModule(config, name, await file.read(A.name, signal), await file.read(B.name, signal), where));
  }
  return Object.freeze({ config, modules: Object.freeze(modules) });
}

/** Groups the file's tensors into A/B pairs per module, refusing anything else. */
function pairFactors(tensors: readonly TensorInfo[], config: AdapterConfig, adapterName: string, where: string): Map<string, { A: TensorInfo; B: TensorInfo }> {
  const found = new Map<string, { A?: TensorInfo; B?: TensorInfo }>();
  for (const info of tensors) {
    const key = parseAdapterKey(info.name, adapterName);
    if (key.kind === 'unsupported') {
      throw new LoraFuseError('ADAPTER_UNSUPPORTED', `${where}: tensor "${info.name}" is ${key.feature}, which LoRAFuse does not support.`, {
        details: { tensor: info.name, module: key.module },
      });
    }
    if (key.kind === 'unknown') {
      throw new LoraFuseError(
        'ADAPTER_UNKNOWN_TENSOR',
        `${where}: tensor "${info.name}" is not a LoRA factor; PEFT names them "base_model.model.<module>.lora_A.weight" and "….lora_B.weight".`,
        { details: { tensor: info.name } },
      );
    }
    if (key.module.length > REGEX_LIMITS.maxNameLength) {
      throw new LoraFuseError(
        'ADAPTER_UNKNOWN_TENSOR',
        `${where}: tensor "${info.name.slice(0, 80)}…" names a module of ${key.module.length} characters, over the limit of ${REGEX_LIMITS.maxNameLength}; no model has such module names.`,
        {
          details: { tensor: info.name, maxNameLength: REGEX_LIMITS.maxNameLength },
        },
      );
    }
    if (!isTargetModule(config, key.module)) {
      throw new LoraFuseError(
        'ADAPTER_UNKNOWN_TENSOR',
        `${where}: tensor "${info.name}" adapts ${key.module}, which the config's target_modules/layers_to_transform do not select; PEFT would ignore it.`,
        { details: { tensor: info.name, module: key.module } },
      );
    }
    const entry = found.get(key.module) ?? {};
    if (entry[key.factor]) {
      throw new LoraFuseError(
        'ADAPTER_UNKNOWN_TENSOR',
        `${where}: lora_${key.factor} of ${key.module} appears twice ("${entry[key.factor]!.name}" and "${info.name}").`,
        {
          details: { tensor: info.name, module: key.module },
        },
      );
    }
    entry[key.factor] = info;
    found.set(key.module, entry);
  }
  const pairs = new Map<string, { A: TensorInfo; B: TensorInfo }>();
  for (const [module, { A, B }] of found) {
    if (!A || !B) {
      const missing = A ? 'B' : 'A';
      throw new LoraFuseError('ADAPTER_MODULE_INCOMPLETE', `${where}: ${module} has lora_${missing === 'A' ? 'B' : 'A'} but no lora_${missing}.`, {
        details: { module, missing: `lora_${missing}` },
      });
    }
    pairs.set(module, { A, B });
  }
  if (pairs.size === 0) {
    throw new LoraFuseError('ADAPTER_WEIGHTS_MISSING', `${where} holds no LoRA factors.`, { details: { file: where } });
  }
  return pairs;
}
