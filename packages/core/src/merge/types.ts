import type { LoraAdapter } from '../adapter/index.js';
import type { Plugin } from '../plugin/index.js';

/** PEFT's ways of electing the sign of each entry in TIES merging. */
export type MajoritySignMethod = 'total' | 'frequency';

/** Which tensor a DARE drop mask is drawn for: a factor (factor-wise types) or a module's dense ΔW (`*_svd` types). */
export type DareTarget = 'A' | 'B' | 'delta';

/** What a {@link DareMaskSource} is asked for: one mask over one adapter's tensor. */
export interface DareMaskRequest {
  /** The module, e.g. `model.layers.0.self_attn.q_proj`. */
  readonly module: string;
  /** The tensor the mask covers. */
  readonly target: DareTarget;
  /** Index of the adapter in the list being merged. */
  readonly adapter: number;
  /** Number of entries (row-major over the tensor). */
  readonly size: number;
  /** Probability of keeping an entry. */
  readonly density: number;
}

/** Supplies DARE's random keep masks: 1 keeps an entry, 0 drops it. */
export type DareMaskSource = (request: DareMaskRequest) => ArrayLike<number>;

/** Options of a merge; each merger reads the ones it uses and documents them. */
export interface MergeOptions {
  /** One weight per adapter (negative weights subtract); all 1 when omitted. */
  readonly weights?: readonly number[];
  /** Fraction of entries kept by the pruning types (TIES, DARE, magnitude), in [0, 1]. */
  readonly density?: number;
  /** Sign election of the TIES types; `total` (PEFT's default) when omitted. */
  readonly majoritySignMethod?: MajoritySignMethod;
  /** Rank of the result of the SVD types; the largest input rank when omitted. */
  readonly rank?: number;
  /** Seed of the DARE drop masks (Philox, see {@link philoxDareMasks}); 0 when omitted. */
  readonly seed?: number;
  /** Overrides the DARE masks, e.g. to replay the ones PEFT drew. */
  readonly dareMasks?: DareMaskSource;
}

/** Progress of a merge: called after each module. */
export interface MergeProgress {
  /** The module just merged. */
  readonly module: string;
  /** Modules merged so far. */
  readonly done: number;
  /** Modules in all. */
  readonly total: number;
}

/** How a merge is run: cancellation and progress. */
export interface MergeContext {
  /** Aborts the merge between modules (`ABORTED`). */
  readonly signal?: AbortSignal;
  /** Called after each module. */
  readonly onProgress?: (progress: MergeProgress) => void;
}

/**
 * A merge strategy: combines LoRA adapters that target the same modules
 * (with the same shapes) into one PEFT-compatible adapter.
 */
export interface MergerPlugin extends Plugin<'merger'> {
  /** Merges `adapters` (at least one) under `options`; throws `INVALID_OPTION`, `MERGE_INCOMPATIBLE` or `ABORTED`. */
  merge(adapters: readonly LoraAdapter[], options: MergeOptions, context?: MergeContext): Promise<LoraAdapter>;
}
