import type { AdamWState } from '../autograd/adamw.js';
import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import { LoraFuseError } from '../errors/index.js';
import type { Folder, WritableFolder } from '../io/folder.js';
import { encodeSafetensors } from '../io/safetensors/encode.js';
import { SafetensorsFile } from '../io/safetensors/file.js';
import { Tensor } from '../tensor/index.js';
import type { HookState } from './hooks.js';

/** The file a trainer checkpoint is written to, inside its folder. */
export const CHECKPOINT_FILE = 'trainer-state.safetensors';

const METADATA_KEY = 'lorafuse.trainer';

/** Where the run stood: enough to continue it exactly. */
export interface TrainProgress {
  /** Optimizer steps done in the whole run. */
  readonly step: number;
  /** The current epoch (0-based). */
  readonly epoch: number;
  /** Optimizer steps done in the current epoch. */
  readonly stepInEpoch: number;
  /** Shuffle seed of the run. */
  readonly seed: number;
  /** Validation loss early stopping compares with (null: none yet). */
  readonly best: number | null;
  /** Lowest validation loss seen (null: none yet). */
  readonly lowest: number | null;
  /** Epochs since the validation loss last improved. */
  readonly stale: number;
  /** Steps skipped so far for a non-finite loss or gradient norm (absent in older checkpoints: 0). */
  readonly skippedSteps?: number;
  /** Bad steps in a row at the end of the saved run (absent: 0). */
  readonly badInARow?: number;
  /** Learning-rate factor left by back-off after bad steps (absent: 1). */
  readonly lrScale?: number;
  /** Mean training loss of the last step (null: no step yet, or a non-finite loss; absent in older checkpoints). */
  readonly loss?: number | null;
}

/** A saved training state (what {@link loadCheckpoint} returns and {@link TrainOptions.resume} takes). */
export interface TrainCheckpoint {
  /** Values of the trained tensors, in order. */
  readonly params: readonly Tensor[];
  /** The optimizer's moments and step counts. */
  readonly optimizer: AdamWState;
  /** Where the run stood. */
  readonly progress: TrainProgress;
  /** The state of each of the run's hooks ({@link TrainHook.saveState}), in order (absent in checkpoints of runs without hooks). */
  readonly hooks?: readonly HookState[];
}

/**
 * Copies `params` and the optimizer state to the host, with `progress`: the
 * run's whole state, to write with {@link writeCheckpoint} or to resume from.
 */
export async function captureCheckpoint(
  backend: Backend,
  params: readonly DeviceTensor[],
  optimizer: AdamWState,
  progress: TrainProgress,
  hooks: readonly HookState[] = [],
): Promise<TrainCheckpoint> {
  const values: Tensor[] = [];
  for (const p of params) values.push(await backend.read(p));
  return { params: values, optimizer, progress, ...(hooks.length > 0 ? { hooks } : {}) };
}

/**
 * Writes a checkpoint to {@link CHECKPOINT_FILE} as one file in one write.
 * The folder's write replaces the file atomically (on disk: a synced
 * temporary file renamed over the old one), so that rename is the single
 * commit point: a process killed at any moment leaves the previous complete
 * checkpoint or the new one, and {@link loadCheckpoint} reads whichever is
 * there. A kill before the rename can leave a `.trainer-state.safetensors.*.tmp`
 * file behind; it is never read and may be deleted.
 */
export async function writeCheckpoint(folder: WritableFolder, checkpoint: TrainCheckpoint): Promise<void> {
  const tensors: [string, Tensor][] = checkpoint.params.map((t, i) => [`param.${i}`, t]);
  const steps = checkpoint.optimizer.map((slot, i) => {
    if (slot) tensors.push([`m.${i}`, slot.m], [`v.${i}`, slot.v]);
    return slot?.step ?? 0;
  });
  const hooks = (checkpoint.hooks ?? []).map((hook, i) => {
    const names = Object.keys(hook.tensors).sort();
    for (const name of names) tensors.push([`hook.${i}.${name}`, hook.tensors[name]]);
    return { names, meta: hook.meta ?? null };
  });
  const meta = { version: 1, progress: checkpoint.progress, steps, params: checkpoint.params.length, hooks };
  await folder.write(CHECKPOINT_FILE, encodeSafetensors(tensors, { [METADATA_KEY]: JSON.stringify(meta) }));
}

/** Reads `params` and the optimizer state from the backend and writes them with `progress` ({@link writeCheckpoint}). */
export async function saveCheckpoint(
  folder: WritableFolder,
  backend: Backend,
  params: readonly DeviceTensor[],
  optimizer: AdamWState,
  progress: TrainProgress,
): Promise<void> {
  await writeCheckpoint(folder, await captureCheckpoint(backend, params, optimizer, progress));
}

/** Reads a checkpoint written by {@link saveCheckpoint}; throws `DATA_INVALID` for a file that is not one. */
export async function loadCheckpoint(folder: Folder): Promise<TrainCheckpoint> {
  const file = await SafetensorsFile.open(await folder.open(CHECKPOINT_FILE));
  const raw = file.metadata[METADATA_KEY];
  let meta: { version: number; progress: TrainProgress; steps: number[]; params: number; hooks?: { names: string[]; meta: unknown }[] };
  try {
    meta = JSON.parse(raw ?? '') as typeof meta;
  } catch (cause) {
    throw new LoraFuseError('DATA_INVALID', `${folder.name}/${CHECKPOINT_FILE} is not a LoRAFuse trainer checkpoint.`, { cause });
  }
  if (meta.version !== 1)
    throw new LoraFuseError('DATA_INVALID', `${folder.name}/${CHECKPOINT_FILE} has checkpoint version ${String(meta.version)}; this LoRAFuse reads version 1.`);
  const params: Tensor[] = [];
  const optimizer = [];
  for (let i = 0; i < meta.params; i++) {
    params.push(await file.read(`param.${i}`));
    optimizer.push(meta.steps[i] > 0 ? { step: meta.steps[i], m: await file.read(`m.${i}`), v: await file.read(`v.${i}`) } : undefined);
  }
  const hooks: HookState[] = [];
  for (const [i, hook] of (meta.hooks ?? []).entries()) {
    const tensors: Record<string, Tensor> = {};
    for (const name of hook.names) tensors[name] = await file.read(`hook.${i}.${name}`);
    hooks.push({ tensors, ...(hook.meta === null ? {} : { meta: hook.meta }) });
  }
  return { params, optimizer, progress: meta.progress, ...(hooks.length > 0 ? { hooks } : {}) };
}

/** Overwrites device tensors in place with host values (the handles the caller holds stay valid). */
export function restoreParams(backend: Backend, params: readonly DeviceTensor[], values: readonly Tensor[]): void {
  const fits =
    values.length === params.length && values.every((t, i) => t.shape.length === params[i].shape.length && t.shape.every((n, j) => n === params[i].shape[j]));
  if (!fits)
    throw new LoraFuseError('SHAPE_MISMATCH', `The checkpoint holds ${values.length} tensors that do not match the ${params.length} trained tensors' shapes.`);
  for (const [i, param] of params.entries()) {
    const all = backend.upload(new Tensor('u8', [param.size], new Uint8Array(param.size).fill(1)));
    const value = backend.upload(new Tensor('f32', values[i].shape, values[i].toFloat32()));
    backend.kernels.maskApply(param, all, value);
    backend.free(all);
    backend.free(value);
  }
}
