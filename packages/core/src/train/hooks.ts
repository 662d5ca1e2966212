import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Tensor } from '../tensor/index.js';

/**
 * Activation statistics of one optimizer step's forward passes (all its
 * micro-batches), gathered when {@link TrainOptions.statistics} asks for
 * them. Sums of squares over the step's tokens, padding excluded: the
 * square root of a sum is the L2 norm of that feature over the step.
 */
export interface StepStatistics {
  /** `Σ_t x_tj²` of every adapted projection's input `x`: f32 `[in]`, by module name. */
  readonly inputSquares: ReadonlyMap<string, DeviceTensor>;
  /**
   * `Σ_t (A·x_t)_k²` of every LoRA module's hidden features (the input of
   * B): f32 `[r]`, keyed by {@link adapterModuleKey}. Empty unless
   * `statistics.hidden` is set.
   */
  readonly hiddenSquares: ReadonlyMap<string, DeviceTensor>;
  /** Tokens summed over (every non-padding position of the step's examples). */
  readonly tokens: number;
}

/** The key of module `module` of adapter number `adapter` (its index in the adapters given), as statistics and pruning use it. */
export function adapterModuleKey(adapter: number, module: string): string {
  return `${adapter}/${module}`;
}

/** What a {@link TrainHook} sees after an optimizer update. */
export interface StepContext {
  /** The backend the run is on. */
  readonly backend: Backend;
  /** The optimizer step just taken (1-based, as in its `step` event). */
  readonly step: number;
  /** Its epoch (0-based). */
  readonly epoch: number;
  /** The trained tensors, with the update applied (queued on the device). */
  readonly params: readonly DeviceTensor[];
  /**
   * The step's gradient of each trained tensor: the weighted mean over its
   * micro-batches, before clipping. The trainer frees them after the hooks.
   */
  readonly gradients: ReadonlyMap<DeviceTensor, DeviceTensor>;
  /** AdamW's moments of a trained tensor (the optimizer's own tensors, which a hook may change in place). */
  moments(param: DeviceTensor): { readonly m: DeviceTensor; readonly v: DeviceTensor } | undefined;
  /** The step's activation statistics, when the run gathers them; the trainer frees them after the hooks. */
  readonly statistics?: StepStatistics;
}

/** A hook's state in a checkpoint: host tensors by name, and anything JSON can hold. */
export interface HookState {
  readonly tensors: Readonly<Record<string, Tensor>>;
  readonly meta?: unknown;
}

/**
 * Work that belongs to every optimizer step of {@link train}: pruning,
 * masking, projecting the parameters. `afterUpdate` runs once the step's
 * update is queued and before the next step's passes are, so the next step
 * sees what it does, also when the trainer runs a step ahead; work it
 * queues on the device without reading values back keeps the device busy.
 * It also runs after a step that the device skips for a non-finite loss or
 * gradient norm (the values are not known yet); the parameters then hold
 * the previous step's values. The trainer checks its abort signal before a
 * step's update, never inside the hooks, so an aborted run ends on a step
 * whose hooks all ran. A hook with state between steps saves it in
 * checkpoints with `saveState` and gets it back on resume with `loadState`.
 */
export interface TrainHook {
  /** Runs after each optimizer update; an error ends the run as the trainer's would. */
  afterUpdate(context: StepContext): void | Promise<void>;
  /** The state to checkpoint, read after the step's `afterUpdate`. */
  saveState?(): Promise<HookState>;
  /** Restores a state `saveState` gave, before the first step of a resumed run. */
  loadState?(state: HookState): void | Promise<void>;
}
