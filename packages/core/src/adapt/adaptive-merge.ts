import type { LoraAdapter } from '../adapter/index.js';
import type { Backend } from '../backend/backend.js';
import { LoraFuseError } from '../errors/index.js';
import { catMerge, checkCatMerge } from '../merge/cat.js';
import { checkAdapterFits } from '../model/adapter-fit.js';
import { freeAdapter, uploadAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import type { ModelConfig } from '../model/types.js';
import { downloadAdapter } from '../train/init-adapter.js';
import { type AdaptEvent, type AdaptOptions, adapt, checkpointPruning } from './adapt.js';
import type { AdaptTensorSparsity } from './prune-hook.js';

/** Options of {@link adaptiveMerge}: {@link adapt}'s, with the adapters on the host. */
export interface AdaptiveMergeOptions extends Omit<AdaptOptions, 'adapters'> {
  /** The target adapter first, then the related ones, on the host; the run trains copies of them. */
  readonly adapters: readonly LoraAdapter[];
  /** Names of the adapters in errors (e.g. their folders), in the same order; default `adapter 1`, `adapter 2`… */
  readonly labels?: readonly string[];
}

/** What {@link adaptiveMerge} produced. */
export interface AdaptiveMergeResult {
  /** The exact `cat` merge of the trained, pruned adapters: one PEFT adapter of rank `Σ r_i`. */
  readonly merged: LoraAdapter;
  /** Each input adapter as the run left it (trained and pruned), in input order. */
  readonly adapters: readonly LoraAdapter[];
  /** Optimizer steps of the whole run (a resumed run's earlier ones included). */
  readonly steps: number;
  /** Training loss of the last step (a resumed run that took none here: from its checkpoint), or null when there was none or it was not finite. */
  readonly trainLoss: number | null;
  /** The last validation loss, or null without validation data. */
  readonly valLoss: number | null;
  /** Per factor, after the last pruning (a resumed run that took no step here: from its checkpoint). */
  readonly tensors: readonly AdaptTensorSparsity[];
}

/**
 * Checks, reading no weight, what {@link adaptiveMerge} checks before any
 * step: that every adapter fits a model with `config` and that their `cat`
 * merge is possible. Throws `ADAPTER_MODEL_MISMATCH` naming the adapter (by
 * `labels`, default `adapter 1`, `adapter 2`…) and `MERGE_INCOMPATIBLE`.
 */
export function checkAdaptiveMerge(config: ModelConfig, adapters: readonly LoraAdapter[], labels?: readonly string[]): void {
  for (const [i, adapter] of adapters.entries()) checkAdapterFits(config, adapter, labels?.[i] ?? `adapter ${i + 1}`);
  checkCatMerge(adapters);
}

/**
 * The whole adaptive merge, adapters in and adapter out: checks that every
 * adapter fits the model and that their modules merge (a module an adapter
 * lacks takes nothing from it) before any step ({@link checkAdaptiveMerge}), copies them to the backend,
 * runs {@link adapt} (training and pruning every factor together), and
 * returns their `cat` merge with the run's summary; the device copies are
 * freed however the run ends. Throws `ADAPTER_MODEL_MISMATCH` and
 * `MERGE_INCOMPATIBLE` before training, then what {@link adapt} throws.
 */
export async function adaptiveMerge(backend: Backend, model: CausalLM, options: AdaptiveMergeOptions): Promise<AdaptiveMergeResult> {
  const { adapters: hosts, labels } = options;
  if (hosts.length === 0) throw new LoraFuseError('INVALID_OPTION', 'adaptiveMerge needs at least the target adapter.');
  checkAdaptiveMerge(model.config, hosts, labels);
  const { resume } = options;
  const summary = { steps: resume?.progress.step ?? 0, trainLoss: resume?.progress.loss ?? null, valLoss: null as number | null };
  let tensors: readonly AdaptTensorSparsity[] = (resume && checkpointPruning(resume)?.tensors) ?? [];
  const devices = [];
  try {
    for (const host of hosts) devices.push(uploadAdapter(backend, host));
    const track = (event: AdaptEvent) => {
      if (event.type === 'step') {
        summary.steps = event.step;
        summary.trainLoss = event.loss;
      } else if (event.type === 'eval') summary.valLoss = event.loss;
      else if (event.type === 'prune') tensors = event.tensors;
      options.onProgress?.(event);
    };
    for await (const _ of adapt(backend, model, { ...options, adapters: devices, onProgress: track })) {
      // Progress goes through track; the loop drives the run.
    }
    const trained: LoraAdapter[] = [];
    for (const [i, device] of devices.entries()) trained.push(await downloadAdapter(backend, device, hosts[i].config));
    return { merged: await catMerge(trained), adapters: trained, ...summary, tensors };
  } finally {
    for (const device of devices) freeAdapter(backend, device);
  }
}
