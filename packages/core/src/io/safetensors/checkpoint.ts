import { LoraFuseError, isLoraFuseError } from '../../errors/index.js';
import { safeRelativePath, type Folder } from '../folder.js';
import { readJsonFile } from '../json-file.js';
import { isJsonObject } from '../text.js';
import { SafetensorsFile, tensorNotFound } from './file.js';
import type { SafetensorsLimits, TensorInfo, TensorStore } from './types.js';

/** Options of {@link openCheckpoint}. */
export interface OpenCheckpointOptions {
  /**
   * The weights file, relative to the folder. Default `model.safetensors`;
   * when it is absent, `<file>.index.json` is opened as a sharded checkpoint.
   * A name ending in `.index.json` is always read as a shard index.
   */
  file?: string;
  /** Limits applied to every file (the index JSON uses `limits.json`). */
  limits?: SafetensorsLimits;
  /** Cancels opening. */
  signal?: AbortSignal;
}

const INDEX_SUFFIX = '.index.json';
/** Extensions of PyTorch pickle files: loading one can run arbitrary code, so they are never opened. */
const PICKLE = /\.(bin|pt|pth|ckpt|pkl|pickle)(\.index\.json)?$/i;

function refusePickle(file: string): void {
  if (!PICKLE.test(file)) return;
  throw new LoraFuseError(
    'UNSAFE_FILE_FORMAT',
    `${file} is a PyTorch pickle file, which can run code when loaded; LoRAFuse reads safetensors only. Convert it with safetensors (e.g. save_pretrained(..., safe_serialization=True)).`,
    {
      details: { file },
    },
  );
}

/**
 * Opens a checkpoint that is one safetensors file or several shards listed
 * by a `*.index.json` (`{"metadata": {...}, "weight_map": {tensor: shard}}`).
 * Only headers are read. Throws `FILE_NOT_FOUND` when neither form exists,
 * `SHARD_INDEX_INVALID` for a malformed index, a missing shard or a tensor
 * missing from its shard, `PATH_ESCAPE` for shard names leaving the folder,
 * and `UNSAFE_FILE_FORMAT` for a PyTorch pickle file or a shard index naming one.
 */
export async function openCheckpoint(folder: Folder, options: OpenCheckpointOptions = {}): Promise<TensorStore> {
  const { file = 'model.safetensors', limits, signal } = options;
  refusePickle(file);
  if (file.endsWith(INDEX_SUFFIX)) return openSharded(folder, file, limits, signal);
  if (await folder.exists(file)) return SafetensorsFile.open(await folder.open(file), limits, signal);
  const index = file + INDEX_SUFFIX;
  if (await folder.exists(index)) return openSharded(folder, index, limits, signal);
  throw new LoraFuseError('FILE_NOT_FOUND', `Neither ${file} nor ${index} is in ${folder.name}; point to a folder holding a safetensors checkpoint.`, {
    details: { folder: folder.name, file },
  });
}

async function openSharded(folder: Folder, indexPath: string, limits: SafetensorsLimits | undefined, signal: AbortSignal | undefined): Promise<TensorStore> {
  const where = `${folder.name}/${indexPath}`;
  const invalid = (problem: string, cause?: unknown) =>
    new LoraFuseError('SHARD_INDEX_INVALID', `${where} ${problem}. Fix or regenerate the index and its shards.`, { cause, details: { file: where } });
  const index = await readJsonFile(folder, indexPath, limits?.json, signal);
  if (!isJsonObject(index)) throw invalid('is not a JSON object');
  const { weight_map: weightMap, metadata = {} } = index;
  if (!isJsonObject(weightMap)) throw invalid('has no "weight_map" object mapping tensor names to shard files');
  if (!isJsonObject(metadata)) throw invalid('has a "metadata" that is not an object');

  // Shard names are relative to the index's own directory.
  const dir = indexPath.slice(0, indexPath.lastIndexOf('/') + 1);
  const shardOf = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') throw invalid(`maps "${name}" to a ${shard === null ? 'null' : typeof shard}, not a file name`);
    refusePickle(shard);
    shardOf.set(name, dir + safeRelativePath(shard, where));
  }
  const shards = new Map<string, SafetensorsFile>();
  await Promise.all(
    [...new Set(shardOf.values())].map(async (path) => {
      try {
        shards.set(path, await SafetensorsFile.open(await folder.open(path), limits, signal));
      } catch (cause) {
        throw isLoraFuseError(cause, 'FILE_NOT_FOUND') ? invalid(`names shard ${path}, which is not in ${folder.name}`, cause) : cause;
      }
    }),
  );
  // The index is authoritative: tensors a shard holds but the index does not list are not exposed.
  const tensors: TensorInfo[] = [];
  for (const [name, path] of shardOf) {
    const shard = shards.get(path)!;
    if (!shard.has(name)) throw invalid(`places tensor "${name}" in ${path}, but that shard does not hold it`);
    tensors.push(shard.info(name));
  }
  const shardFor = (name: string): SafetensorsFile => {
    const path = shardOf.get(name);
    if (path === undefined) throw tensorNotFound(name, where, tensors);
    return shards.get(path)!;
  };
  return {
    tensors: Object.freeze(tensors),
    // HF indexes hold numbers here (total_size); the store exposes strings like a file's __metadata__.
    metadata: Object.freeze(Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))),
    has: (name) => shardOf.has(name),
    info: (name) => shardFor(name).info(name),
    read: async (name, readSignal) => shardFor(name).read(name, readSignal),
  };
}
