import type { Backend } from '../backend/backend.js';
import type { Example } from '../data/encode.js';
import { LoraFuseError } from '../errors/index.js';
import { oneOf } from '../errors/one-of.js';
import type { WritableFolder } from '../io/folder.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import type { PluginRegistry } from '../plugin/registry.js';
import { Pruner } from '../prune/pruner.js';
import type { GroupingPlugin, ImportancePlugin, SchedulePlugin } from '../prune/types.js';
import type { TrainCheckpoint } from '../train/checkpoint.js';
import type { TrainEvent } from '../train/events.js';
import { train } from '../train/trainer.js';
import { PUBLISHED_ADAPT_SETTINGS } from './preset.js';
import { type NormSource, PruneHook, type StepPruning } from './prune-hook.js';

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
  /**
   * Importance metric or its name (default `lora`, which needs the
   * input-feature norms). adapt gives a metric exactly the inputs its
   * `requires` names: `inputNorms` and `hiddenNorms` from {@link AdaptOptions.normSource},
   * and `gradients`, the step's gradient before clipping (with the factors
   * after the update: `taylor` is `|θ·g|` with θ updated and g the
   * accumulated gradient the update used).
   */
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
  /** Where the activation norms come from (default `dataset`, the method's; see {@link NormSource} for the costs). */
  readonly normSource?: NormSource;
  /** With `dataset` norms: recompute them after every optimizer step (`step`, the method's) or at each epoch's first step (`epoch`, cheaper). */
  readonly refresh?: 'step' | 'epoch';
  /**
   * `regrow` (default, the method's): every step re-scores every entry, so a
   * pruned entry may come back. `fixed`: an entry once pruned stays pruned,
   * and its AdamW moments are zeroed each time it is masked.
   */
  readonly masks?: 'regrow' | 'fixed';
  /** Pruned entries become `zero` (default, the method's) or their `initial` value (the factor's value when the run started). */
  readonly prunedValue?: 'zero' | 'initial';
  /**
   * LoRA dropout in training, applied as PEFT does on the LoRA input of every
   * adapter; default each adapter's own `lora_dropout` (see `train`).
   */
  readonly loraDropout?: number;
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
   * same adapters, data, options and seed: the saved factors (pruned), the
   * optimizer, the pruning state (persistent masks, the metric's state, the
   * norms in use) are restored, and the run goes on from the next step
   * exactly as it would have without the interruption.
   */
  readonly resume?: TrainCheckpoint;
  /** Aborting throws `ABORTED`; the adapters hold the last completed, pruned step. */
  readonly signal?: AbortSignal;
  /** Called with every event, as it is yielded. */
  readonly onProgress?: (event: AdaptEvent) => void;
}

/**
 * The pruning of the last step an {@link adapt} checkpoint holds (undefined
 * before the first step): what a resumed run that has no step left to take
 * reports as its last pruning.
 */
export function checkpointPruning(checkpoint: TrainCheckpoint): StepPruning | undefined {
  // adapt() runs one hook, the pruning.
  return PruneHook.lastPruning(checkpoint.hooks?.[0]);
}

/** After the pruning that follows each optimizer step. */
export interface PruneEvent extends StepPruning {
  readonly type: 'prune';
}

/** What {@link adapt} yields: the training events, each `step` followed by its `prune`. */
export type AdaptEvent = TrainEvent | PruneEvent;

/**
 * The method's adaptive merge (update-and-prune): trains all factors of the
 * target and related adapters together on the target data with
 * {@link train} (AdamW, per-epoch learning-rate decay, gradient
 * accumulation, LoRA dropout), and after every optimizer update prunes every
 * factor with a {@link Pruner} — a {@link PruneHook} in the trainer, so the
 * pruning is queued on the device with the step and the trainer may run a
 * step ahead. By default pruned entries are zeroed, masks are re-scored each
 * step (pruned entries may regrow) and Adam's moments are kept. Yields each
 * training event, and a `prune` event with per-factor sparsity after each
 * `step`. Throws what {@link train} and {@link Pruner} throw, and
 * `INVALID_OPTION` for no adapters or an unknown option value.
 */
export async function* adapt(backend: Backend, model: CausalLM, options: AdaptOptions): AsyncGenerator<AdaptEvent, void, undefined> {
  const p = PUBLISHED_ADAPT_SETTINGS;
  if (options.adapters.length === 0) throw new LoraFuseError('INVALID_OPTION', 'adapt needs at least the target adapter.');
  const refresh = oneOf('refresh', options.refresh ?? p.refresh, ['step', 'epoch'] as const);
  const normSource = oneOf('normSource', options.normSource ?? 'dataset', ['dataset', 'running'] as const);
  const masks = oneOf('masks', options.masks ?? 'regrow', ['regrow', 'fixed'] as const);
  const prunedValue = oneOf('prunedValue', options.prunedValue ?? 'zero', ['zero', 'initial'] as const);
  const batchSize = options.batchSize ?? p.batchSize;
  const accumulation = options.accumulation ?? p.accumulation;
  const pruner = new Pruner({
    backend,
    metric: options.metric ?? p.metric,
    grouping: options.grouping ?? p.grouping,
    schedule: options.schedule,
    plugins: options.plugins,
    ratio: options.ratio,
    mode: prunedValue === 'initial' ? 'reset' : 'zero',
    masks: masks === 'fixed' ? 'persistent' : 'regrow',
    resetMoments: masks === 'fixed',
  });
  const emit = (event: AdaptEvent) => {
    options.onProgress?.(event);
    return event;
  };
  let hook: PruneHook | undefined;
  try {
    hook = new PruneHook({
      backend,
      model,
      adapters: options.adapters,
      pruner,
      normSource,
      refresh,
      calibration: options.calibration ?? options.train,
      window: Math.ceil(Math.ceil(options.train.length / batchSize) / accumulation),
    });
    const statistics = hook.statistics;
    const run = train(backend, model, {
      adapters: options.adapters,
      train: options.train,
      validation: options.validation,
      padId: options.padId,
      batchSize,
      accumulation,
      epochs: options.epochs ?? p.epochs,
      seed: options.seed,
      schedule: { kind: 'constant', lr: options.lr ?? p.lr, epochDecay: options.epochDecay ?? p.epochDecay },
      adamw: { weightDecay: options.weightDecay ?? p.weightDecay },
      checkpoint: options.checkpoint,
      resume: options.resume,
      signal: options.signal,
      hooks: [hook],
      ...(statistics ? { statistics } : {}),
      ...(options.loraDropout === undefined ? {} : { loraDropout: options.loraDropout }),
    });
    for await (const event of run) {
      yield emit(event);
      const pruning = event.type === 'step' ? hook.take(event.step) : undefined;
      if (pruning) yield emit({ type: 'prune', ...pruning });
    }
  } finally {
    hook?.dispose();
    pruner.dispose();
  }
}
