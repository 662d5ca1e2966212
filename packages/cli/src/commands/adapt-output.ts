import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  ADAPT_PROVENANCE_FILE,
  MODEL_CONFIG_FILE,
  mergeIntoBase,
  saveAdapter,
  saveModelFolder,
  type AdaptProvenance,
  type LoraAdapter,
  type ModelCheckpoint,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { topLevelFiles } from '../hash.js';

/** Writes the adapted adapter and its provenance ({@link ADAPT_PROVENANCE_FILE}) into `out`, each file replaced atomically. */
export async function writeAdaptOutput(out: string, adapter: LoraAdapter, provenance: AdaptProvenance): Promise<void> {
  const folder = nodeFolder(out);
  await saveAdapter(folder, adapter);
  await folder.write(ADAPT_PROVENANCE_FILE, [new TextEncoder().encode(`${JSON.stringify(provenance, null, 2)}\n`)]);
}

/**
 * Weights in any format, and their indexes: a merged model must not carry
 * the base's weights next to its own (safetensors, PyTorch, GGUF, TF/Flax,
 * ONNX files and `*.index.json`).
 */
const WEIGHT_FILE = /\.(safetensors|bin|pt|pth|ckpt|pkl|gguf|h5|msgpack|onnx)$|\.index\.json$/;

/**
 * The base model of `checkpoint` (opened from `modelDir`) with `adapter`
 * folded into its weights, as a Hugging Face folder at `out`: its weights and
 * `config.json` ({@link saveModelFolder}), and a copy of every other file at
 * the top of the base folder (tokenizer files, `generation_config.json`,
 * chat templates, …), so that the folder works wherever the base did.
 */
export async function writeMergedModel(checkpoint: ModelCheckpoint, modelDir: string, adapter: LoraAdapter, out: string): Promise<void> {
  const target = nodeFolder(out);
  await saveModelFolder(target, checkpoint.config, await mergeIntoBase(checkpoint, [adapter]));
  for (const file of await topLevelFiles(modelDir)) {
    const name = basename(file);
    if (name === MODEL_CONFIG_FILE || WEIGHT_FILE.test(name)) continue;
    await target.write(name, [await readFile(file)]);
  }
}
