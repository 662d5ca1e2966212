import type { Backend } from '../backend/backend.js';
import { IGNORE_TARGET, type Example } from '../data/encode.js';
import { outOfMemoryError } from '../memory/error.js';
import { planMemory, type MemoryPlan, type PlannedAdapt } from '../memory/plan.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';

/** What a training run's memory plan depends on. */
export interface TrainingMemoryRun {
  readonly adapters: readonly DeviceAdapter[];
  readonly train: readonly Example[];
  readonly validation?: readonly Example[];
  readonly batchSize: number;
  readonly accumulation: number;
  /** Overrides every adapter's dropout. */
  readonly loraDropout?: number;
  /** The pruning work of `adapt()`. */
  readonly adapt?: PlannedAdapt;
  /** Caps the backend's limit. */
  readonly memoryBudget?: number;
  /** Checkpointing of the decoder layers: `auto` (default) turns it on when the plan needs it. */
  readonly checkpointing?: 'none' | 'layers' | 'auto';
}

/** What {@link checkTrainingMemory} decided: the plan the run keeps to, and whether its layers are checkpointed. */
export interface TrainingMemory {
  /** Undefined when the backend does not describe its memory. */
  readonly plan?: MemoryPlan;
  readonly checkpointing: 'none' | 'layers';
}

/**
 * The memory plan of a training run of `model` on `backend`: its actual
 * adapters, micro-batches of its batch size padded to its longest example,
 * validation passes when it has validation data. Undefined when the
 * backend does not describe its memory ({@link Backend.memoryTraits}).
 */
export function planTraining(
  backend: Backend,
  model: CausalLM,
  run: TrainingMemoryRun & { readonly checkpointing?: 'none' | 'layers' },
): MemoryPlan | undefined {
  const traits = backend.memoryTraits;
  if (!traits) return undefined;
  const examples = [...run.train, ...(run.validation ?? [])];
  const longest = Math.max(1, ...examples.map((e) => e.ids.length));
  const batchSize = Math.min(run.batchSize, Math.max(run.train.length, run.validation?.length ?? 0));
  return planMemory(model.config, {
    backend: traits,
    ...(run.memoryBudget === undefined ? {} : { memoryBudget: run.memoryBudget }),
    batchSize,
    maxLength: longest,
    targetTokens: mostTargets(examples, batchSize),
    accumulation: run.accumulation,
    adapters: run.adapters.map((a) => ({ modules: a.modules.map((m) => ({ name: m.name, rank: m.a.shape[0] })), dropout: a.dropout ?? 0 })),
    ...(run.loraDropout === undefined ? {} : { loraDropout: run.loraDropout }),
    weights: model.weights,
    ...(run.adapt ? { adapt: run.adapt } : {}),
    validation: (run.validation?.length ?? 0) > 0,
    checkpointing: run.checkpointing ?? 'none',
  });
}

/** The most positions with a target any micro-batch of `batchSize` examples can hold: those of the examples with the most. */
export function mostTargets(examples: readonly Pick<Example, 'targets'>[], batchSize: number): number {
  const counts = examples.map((e) => e.targets.filter((t) => t !== IGNORE_TARGET).length).sort((a, b) => b - a);
  return Math.max(
    1,
    counts.slice(0, batchSize).reduce((a, b) => a + b, 0),
  );
}

/**
 * Plans the run ({@link planTraining}) and decides its checkpointing: with
 * `auto`, the layers are checkpointed only when the plan without does not
 * fit and the plan with does. Throws `OUT_OF_MEMORY`, with the plan (and
 * the change that fits) in `details.plan`, when the run does not fit.
 */
export function checkTrainingMemory(backend: Backend, model: CausalLM, run: TrainingMemoryRun): TrainingMemory {
  const mode = run.checkpointing ?? 'auto';
  const first = planTraining(backend, model, { ...run, checkpointing: mode === 'layers' ? 'layers' : 'none' });
  if (!first) return { checkpointing: mode === 'layers' ? 'layers' : 'none' };
  if (first.fits) return { plan: first, checkpointing: first.settings.checkpointing };
  if (mode === 'auto') {
    const checkpointed = planTraining(backend, model, { ...run, checkpointing: 'layers' })!;
    if (checkpointed.fits) return { plan: checkpointed, checkpointing: 'layers' };
  }
  throw outOfMemoryError(first, backend.memoryTraits?.limitReason);
}
