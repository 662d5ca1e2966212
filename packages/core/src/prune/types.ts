import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Plugin } from '../plugin/contract.js';
import type { Shape } from '../tensor/index.js';

/** Which LoRA factor: `A` `[r, in]` or `B` `[out, r]`. */
export type Factor = 'A' | 'B';

/** Adam's first and second moments of one parameter, on the backend (f32, the parameter's shape). */
export interface AdamMoments {
  readonly m: DeviceTensor;
  readonly v: DeviceTensor;
}

/**
 * One LoRA module as the {@link Pruner} sees it: its factors on a backend
 * (pruned in place) plus whatever the importance metric and the options
 * need on this call. Every tensor is f32 and lives on the pruner's backend.
 */
export interface PrunableModule {
  /** Unique within one call; keys the persistent masks and metric state (e.g. `model.layers.0.self_attn.q_proj`). */
  readonly name: string;
  /** A `[r, in]`, pruned in place. */
  readonly a: DeviceTensor;
  /** B `[out, r]`, pruned in place. */
  readonly b: DeviceTensor;
  /** `[in]`: ‖X_j‖₂ of each input feature over the calibration tokens (`lora`, `wanda`). */
  readonly inputNorms?: DeviceTensor;
  /** `[r]`: ‖(A·X)_k‖₂ of each LoRA hidden feature, B's input (`wanda` on B). */
  readonly hiddenNorms?: DeviceTensor;
  /** ∂loss/∂A `[r, in]` (`taylor`). */
  readonly gradA?: DeviceTensor;
  /** ∂loss/∂B `[out, r]` (`taylor`). */
  readonly gradB?: DeviceTensor;
  /** A's initial values, for `mode: 'reset'`. */
  readonly initA?: DeviceTensor;
  /** B's initial values, for `mode: 'reset'`. */
  readonly initB?: DeviceTensor;
  /** A's Adam moments, for `resetMoments`. */
  readonly momentsA?: AdamMoments;
  /** B's Adam moments, for `resetMoments`. */
  readonly momentsB?: AdamMoments;
}

/**
 * Device tensors an importance metric keeps from one call to the next (the
 * smoothed scores of `taylor`), one store per pruner and module. The pruner
 * owns them: `set` frees the tensor it replaces, and `Pruner.dispose` frees all.
 */
export interface ImportanceState {
  /** The tensor stored under `key`, if any. */
  get(key: string): DeviceTensor | undefined;
  /** Stores `tensor` under `key` (the pruner now owns it), freeing the one it replaces. */
  set(key: string, tensor: DeviceTensor): void;
}

/** What an importance metric is given for one module. */
export interface ImportanceContext {
  /** The backend every tensor lives on; scores are computed with its kernels. */
  readonly backend: Backend;
  /** The module to score. */
  readonly module: PrunableModule;
  /** The pruner's step (see {@link Pruner.prune}). */
  readonly step: number;
  /** This metric's state for this module. */
  readonly state: ImportanceState;
  /** Cancels the work. */
  readonly signal?: AbortSignal;
}

/**
 * Importance scores of a module's factors: f32 device tensors with the
 * shapes of A and B, higher = more important. They are new tensors that the
 * pruner frees after use (never a tensor the metric keeps in its state).
 */
export interface FactorScores {
  readonly a: DeviceTensor;
  readonly b: DeviceTensor;
}

/** An importance input a metric needs from the caller. */
export type ImportanceInput = 'inputNorms' | 'hiddenNorms' | 'gradients';

/**
 * An importance metric: scores every entry of a module's A and B.
 * Registered under kind `importance`; the hook is `score`.
 */
export interface ImportancePlugin extends Plugin<'importance'> {
  /** What the metric reads besides the factors, so callers can check before running (the CLI does). */
  readonly requires?: readonly ImportanceInput[];
  /** Scores one module; throws `PRUNE_INPUT_MISSING` when an input it needs is absent. */
  score(context: ImportanceContext): FactorScores | Promise<FactorScores>;
}

/** A tensor a grouping lays groups over. */
export interface GroupableTensor {
  /** The module's name. */
  readonly module: string;
  readonly factor: Factor;
  /** `[r, in]` for A, `[out, r]` for B. */
  readonly shape: Shape;
}

/**
 * One selection unit: the scores of `members` (indices into the tensors
 * given to {@link GroupingPlugin.groups}), flattened row-major and
 * concatenated in that order, are cut into consecutive groups of
 * `groupSize` entries; in each group the same share of the lowest scores is
 * pruned.
 */
export interface SelectionGroup {
  readonly members: readonly number[];
  /** Entries per group; divides the members' total size. */
  readonly groupSize: number;
}

/**
 * How entries compete for pruning. Registered under kind `grouping`; the
 * hook is `groups`. Tensors that no group names are left alone.
 */
export interface GroupingPlugin extends Plugin<'grouping'> {
  /**
   * The ratio this grouping implies, when it fixes one (N:M keeps N of
   * every M, so it prunes exactly `1 − N/M`); the pruner's target ratio
   * must then equal it.
   */
  readonly impliedRatio?: number;
  /** The groups over `tensors`; throws `SHAPE_MISMATCH` when a shape does not fit the grouping. */
  groups(tensors: readonly GroupableTensor[]): SelectionGroup[];
}

/**
 * When and how much to prune. Registered under kind `schedule`; the hook is
 * `ratio`.
 */
export interface SchedulePlugin extends Plugin<'schedule'> {
  /**
   * The ratio to prune at `step` (0-based) for the final ratio `target`, in
   * `[0, 1]`, or `null` to skip pruning on this step (persistent masks are
   * still re-applied).
   */
  ratio(step: number, target: number): number | null;
}
