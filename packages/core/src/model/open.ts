import { LoraFuseError } from '../errors/index.js';
import { readJsonFile, type Folder, type JsonLimits } from '../io/index.js';
import { openCheckpoint, type SafetensorsLimits } from '../io/safetensors/index.js';
import { parseModelConfig } from './config.js';
import type { ModelCheckpoint, ModelConfig } from './types.js';
import { checkModelWeights } from './weights.js';

/** The config file of a Hugging Face model folder. */
export const MODEL_CONFIG_FILE = 'config.json';
/** The single-file weights of a model folder; sharded weights are listed by `model.safetensors.index.json`. */
export const MODEL_WEIGHTS_FILE = 'model.safetensors';

/** Options of {@link openModelFolder}. */
export interface OpenModelOptions {
  /** Limits for the safetensors files. */
  limits?: SafetensorsLimits;
  /** Limits for `config.json`. */
  jsonLimits?: JsonLimits;
  /** Cancels opening. */
  signal?: AbortSignal;
}

/** Reads and validates `config.json` of a model folder (`MODEL_CONFIG_MISSING` when absent). */
export async function loadModelConfig(folder: Folder, options: Pick<OpenModelOptions, 'jsonLimits' | 'signal'> = {}): Promise<ModelConfig> {
  if (!(await folder.exists(MODEL_CONFIG_FILE))) {
    throw new LoraFuseError('MODEL_CONFIG_MISSING', `${folder.name} has no ${MODEL_CONFIG_FILE}; point to a Hugging Face model folder.`, {
      details: { folder: folder.name },
    });
  }
  return parseModelConfig(await readJsonFile(folder, MODEL_CONFIG_FILE, options.jsonLimits, options.signal));
}

/**
 * Opens a Hugging Face model folder: `config.json` plus `model.safetensors`
 * or the shards listed in `model.safetensors.index.json`. Only headers are
 * read; weights load one tensor at a time through `weights.read`. Every
 * weight the architecture needs is checked for presence, shape and dtype.
 *
 * Throws `MODEL_CONFIG_MISSING`, the codes of {@link parseModelConfig},
 * `MODEL_WEIGHTS_MISSING`, `SHAPE_MISMATCH`, `UNSUPPORTED_DTYPE`, and the
 * safetensors and shard-index codes for malformed files.
 */
export async function openModelFolder(folder: Folder, options: OpenModelOptions = {}): Promise<ModelCheckpoint> {
  const config = await loadModelConfig(folder, options);
  const index = `${MODEL_WEIGHTS_FILE}.index.json`;
  if (!(await folder.exists(MODEL_WEIGHTS_FILE)) && !(await folder.exists(index))) {
    const bin = (await folder.exists('pytorch_model.bin')) || (await folder.exists('pytorch_model.bin.index.json'));
    const hint = bin ? ' It has pytorch_model.bin (PyTorch pickle), which LoRAFuse does not read: resave the model with safe_serialization=True.' : '';
    throw new LoraFuseError('MODEL_WEIGHTS_MISSING', `${folder.name} has neither ${MODEL_WEIGHTS_FILE} nor ${index}.${hint}`, {
      details: { folder: folder.name },
    });
  }
  const weights = await openCheckpoint(folder, { file: MODEL_WEIGHTS_FILE, limits: options.limits, signal: options.signal });
  checkModelWeights(weights, config, folder.name);
  return Object.freeze({ config, weights });
}
