import type { Backend } from '../backend/backend.js';
import type { Example } from '../data/encode.js';
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
}

/**
 * The memory plan of a training run of `model` on `backend`: its actual
 * adapters, micro-batches of its batch size padded to its longest example,
 * validation passes when it has validation data. Undefined when the
 * backend does not describe its memory ({@link Backend.memoryTraits}).
 */
export function planTraining(backend: Backend, model: CausalLM, run: TrainingMemoryRun): MemoryPlan | undefined {
  const traits = backend.memoryTraits;
  if (!traits) return undefined;
  const examples = [...run.train, ...(run.validation ?? [])];
  const longest = Math.max(1, ...examples.map((e) => e.ids.length));
  return planMemory(model.config, {
    backend: traits,
    ...(run.memoryBudget === undefined ? {} : { memoryBudget: run.memoryBudget }),
    batchSize: Math.min(run.batchSize, Math.max(run.train.length, run.validation?.length ?? 0)),
    maxLength: longest,
    accumulation: run.accumulation,
    adapters: run.adapters.map((a) => ({ modules: a.modules.map((m) => ({ name: m.name, rank: m.a.shape[0] })), dropout: a.dropout ?? 0 })),
    ...(run.loraDropout === undefined ? {} : { loraDropout: run.loraDropout }),
    weights: model.weights,
    ...(run.adapt ? { adapt: run.adapt } : {}),
    validation: (run.validation?.length ?? 0) > 0,
  });
}

/** Plans the run ({@link planTraining}) and throws `OUT_OF_MEMORY` with the plan in `details.plan` when it does not fit. */
export function checkTrainingMemory(backend: Backend, model: CausalLM, run: TrainingMemoryRun): MemoryPlan | undefined {
  const plan = planTraining(backend, model, run);
  if (plan && !plan.fits) throw outOfMemoryError(plan, backend.memoryTraits?.limitReason);
  return plan;
}
