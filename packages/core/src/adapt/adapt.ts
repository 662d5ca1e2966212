import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Example } from '../data/encode.js';
import { LoraFuseError } from '../errors/index.js';
import type { WritableFolder } from '../io/folder.js';
import { adapterParameters, type DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import type { PluginRegistry } from '../plugin/registry.js';
import { Pruner, type TensorSparsity } from '../prune/pruner.js';
import type { GroupingPlugin, ImportancePlugin, PrunableModule, SchedulePlugin } from '../prune/types.js';
import { collectInputNorms } from '../stats/input-norms.js';
import { restoreParams, type TrainCheckpoint } from '../train/checkpoint.js';
import type { TrainEvent } from '../train/events.js';
import { train } from '../train/trainer.js';
import { PUBLISHED_ADAPT_SETTINGS } from './preset.js';

/** Options of {@link adapt}; unset training and pruning options take {@link PUBLISHED_ADAPT_SETTINGS}. */
export interface AdaptOptions {
  /**
   * The target adapter and the related ones, on the backend. Together they
   * are their exact `cat` merge (the forward pass adds `Σ s_i·B_i·A_i`);
   * every A and B is trained and pruned in place, the base stays frozen.
   */
  readonly adapters: readonly DeviceAdapter[];
  /** Encoded examples of the target task. */
  readonly train: readonly Example[];
  /** Encoded validation examples, scored after each epoch. */
  readonly validation?: readonly Example[];
  /** Calibration sequences of the input-feature norms; default the training examples. */
  readonly calibration?: readonly Pick<Example, 'ids'>[];
  /** The tokenizer's pad id. */
  readonly padId: number;
  /** Share of the entries of each pruned tensor set to zero, in `[0, 1]`. */
  readonly ratio: number;
  /** Importance metric or its name (default `lora`, which needs the input-feature norms). */
  readonly metric?: ImportancePlugin | string;
  /** Grouping or its name (default `module`: each A and each B of each adapter on its own). */
  readonly grouping?: GroupingPlugin | string;
  /**
   * Pruning schedule or its name (default `constant`, the method's: the full
   * ratio after every step). The schedule sees the optimizer step, 0-based;
   * a step it skips re-applies no masks and lets pruned entries grow back.
   */
  readonly schedule?: SchedulePlugin | string;
  /** Resolves plugin names (e.g. `runtime.plugins` with `@lorafuse/plugins` registered). */
  readonly plugins?: PluginRegistry;
  /** Recompute the input-feature norms after every optimizer step (`step`, the method's) or at each epoch's first step (`epoch`, cheaper). */
  readonly refresh?: 'step' | 'epoch';
  /** Peak AdamW learning rate. */
  readonly lr?: number;
  /** AdamW weight decay. */
  readonly weightDecay?: number;
  /** Examples per micro-batch. */
  readonly batchSize?: number;
  /** Micro-batches per optimizer step. */
  readonly accumulation?: number;
  /** Passes over the training data. */
  readonly epochs?: number;
  /** Learning-rate multiplier per epoch. */
  readonly epochDecay?: number;
  /** Seed of the shuffle (default 0). */
  readonly seed?: number;
  /**
   * Save the training state to `folder` every `everySteps` optimizer steps
   * and at each epoch's end (see `train`); resume from it with `resume`.
   */
  readonly checkpoint?: { readonly folder: WritableFolder; readonly everySteps?: number };
  /**
   * Continue a run from its checkpoint (`loadCheckpoint(folder)`), with the
   * same adapters, data, options and seed: the saved factors are restored,
   * pruned as the interrupted run pruned them after the saved step, and the
   * run goes on from the next step exactly as it would have without the
   * interruption (with `refresh: 'epoch'` the norms are recomputed from the
   * restored factors rather than kept from the epoch's first step).
   */
  readonly resume?: TrainCheckpoint;
  /** Aborting throws `ABORTED`; the adapters hold the last completed, pruned step. */
  readonly signal?: AbortSignal;
  /** Called with every event, as it is yielded. */
  readonly onProgress?: (event: AdaptEvent) => void;
}

/** Sparsity of one factor after a pruning step; `adapter` indexes {@link AdaptOptions.adapters}. */
export interface AdaptTensorSparsity extends TensorSparsity {
  /** Index of the adapter in {@link AdaptOptions.adapters}. */
  readonly adapter: number;
}

/** After the pruning that follows each optimizer step. */
export interface PruneEvent {
  readonly type: 'prune';
  /** The optimizer step just taken (1-based, as in its `step` event). */
  readonly step: number;
  readonly epoch: number;
  /** The ratio applied, or `null` when the schedule skipped this step. */
  readonly ratio: number | null;
  /** One entry per factor: A then B of each module of each adapter. */
  readonly tensors: readonly AdaptTensorSparsity[];
}

/** What {@link adapt} yields: the training events, each `step` followed by its `prune`. */
export type AdaptEvent = TrainEvent | PruneEvent;

const key = (adapter: number, module: string) => `${adapter}/${module}`;

/**
 * The method's adaptive merge (update-and-prune): trains all factors of the
 * target and related adapters together on the target data with
 * {@link train} (AdamW, per-epoch learning-rate decay, gradient
 * accumulation), and after every optimizer step refreshes the
 * input-feature norms (forward passes over the calibration data with the
 * current adapters) and prunes every factor with a {@link Pruner}: pruned
 * entries are zeroed, masks are re-scored each step (pruned entries may
 * regrow) and Adam's moments are kept. Yields each training event, and a
 * `prune` event with per-factor sparsity after each `step`. Throws what
 * {@link train}, {@link collectInputNorms} and {@link Pruner} throw, and
 * `INVALID_OPTION` for no adapters.
 */
export async function* adapt(backend: Backend, model: CausalLM, options: AdaptOptions): AsyncGenerator<AdaptEvent, void, undefined> {
  const p = PUBLISHED_ADAPT_SETTINGS;
  if (options.adapters.length === 0) throw new LoraFuseError('INVALID_OPTION', 'adapt needs at least the target adapter.');
  const refresh = options.refresh ?? p.refresh;
  if (refresh !== 'step' && refresh !== 'epoch') throw new LoraFuseError('INVALID_OPTION', `refresh must be 'step' or 'epoch', got ${String(refresh)}.`);
  const pruner = new Pruner({
    backend,
    metric: options.metric ?? p.metric,
    grouping: options.grouping ?? p.grouping,
    schedule: options.schedule,
    plugins: options.plugins,
    ratio: options.ratio,
  });
  const owners = options.adapters.flatMap((adapter, i) => adapter.modules.map((m) => ({ adapter: i, m })));
  const names = [...new Set(owners.map((o) => o.m.name))];
  const needsNorms = pruner.metric.requires?.includes('inputNorms') ?? false;
  const emit = (event: AdaptEvent) => {
    options.onProgress?.(event);
    return event;
  };
  const norms = new Map<string, DeviceTensor>();
  const freeNorms = () => {
    for (const t of norms.values()) backend.free(t);
    norms.clear();
  };
  let normsEpoch = -1;
  /** Refreshes the norms as scheduled and prunes every factor after optimizer step `step` (1-based). */
  const pruneAfter = async (step: number, epoch: number) => {
    // train() is suspended at its yield and does not run ahead, so the next step sees the pruned factors.
    if (needsNorms && (refresh === 'step' || epoch !== normsEpoch)) {
      const host = await collectInputNorms(backend, model, {
        modules: names,
        examples: options.calibration ?? options.train,
        adapters: options.adapters,
        signal: options.signal,
      });
      freeNorms();
      for (const [name, t] of host) norms.set(name, backend.upload(t));
      normsEpoch = epoch;
    }
    const modules = owners.map(({ adapter, m }): PrunableModule => ({ name: key(adapter, m.name), a: m.a, b: m.b, inputNorms: norms.get(m.name) }));
    const report = await pruner.prune(modules, { step: step - 1, signal: options.signal });
    const tensors = report.tensors.map((t, i) => ({ ...t, adapter: owners[i >> 1].adapter, module: owners[i >> 1].m.name }));
    return emit({ type: 'prune', step, epoch, ratio: report.ratio, tensors });
  };
  try {
    let resume = options.resume;
    if (resume && resume.progress.step > 0) {
      // The checkpoint holds the factors as the optimizer left them, before the pruning that followed its step: replay that pruning.
      const params = options.adapters.flatMap(adapterParameters);
      restoreParams(backend, params, resume.params);
      await pruneAfter(resume.progress.step, resume.progress.epoch);
      const pruned = [];
      for (const param of params) pruned.push(await backend.read(param));
      resume = { ...resume, params: pruned };
    }
    const run = train(backend, model, {
      adapters: options.adapters,
      train: options.train,
      validation: options.validation,
      padId: options.padId,
      batchSize: options.batchSize ?? p.batchSize,
      accumulation: options.accumulation ?? p.accumulation,
      epochs: options.epochs ?? p.epochs,
      seed: options.seed,
      schedule: { kind: 'constant', lr: options.lr ?? p.lr, epochDecay: options.epochDecay ?? p.epochDecay },
      adamw: { weightDecay: options.weightDecay ?? p.weightDecay },
      checkpoint: options.checkpoint,
      resume,
      signal: options.signal,
      // Each step's gradients must see the factors pruned after the step before.
      runAhead: false,
    });
    for await (const event of run) {
      yield emit(event);
      if (event.type === 'step') yield await pruneAfter(event.step, event.epoch);
    }
  } finally {
    freeNorms();
    pruner.dispose();
  }
}
