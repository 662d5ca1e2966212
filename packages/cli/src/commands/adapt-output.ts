import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  ADAPT_PROVENANCE_FILE,
  MODEL_CONFIG_FILE,
  mergeIntoBase,
  readFile as readFolderFile,
  saveAdapter,
  saveModelFolder,
  type AdaptProvenance,
  type LoraAdapter,
  type ModelCheckpoint,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import type { InputFolder } from '../folders.js';
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
 * The base model of `checkpoint` (opened from `base`) with `adapter` folded
 * into its weights, as a Hugging Face folder at `out`: its weights and
 * `config.json` ({@link saveModelFolder}), and a copy of every other file at
 * the top of the base folder — on disk, or of the Hub repository —
 * (tokenizer files, `generation_config.json`, chat templates, …), so that
 * the folder works wherever the base did.
 */
export async function writeMergedModel(checkpoint: ModelCheckpoint, base: InputFolder, adapter: LoraAdapter, out: string): Promise<void> {
  const target = nodeFolder(out);
  await saveModelFolder(target, checkpoint.config, await mergeIntoBase(checkpoint, [adapter]));
  const copied = (name: string) => name !== MODEL_CONFIG_FILE && !WEIGHT_FILE.test(name);
  if (base.dir !== undefined) {
    for (const file of await topLevelFiles(base.dir)) if (copied(basename(file))) await target.write(basename(file), [await readFile(file)]);
    return;
  }
  for (const { path } of base.hub?.folder.files ?? []) {
    if (!path.includes('/') && copied(path)) await target.write(path, [await readFolderFile(base.folder, path)]);
  }
}
