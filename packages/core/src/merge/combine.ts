// PEFT 0.21's task-tensor combinations (peft/utils/merge_utils.py), in
// float64 over flat tensors of equal size, one tensor per adapter.
import { LoraFuseError } from '../errors/index.js';
import type { MajoritySignMethod } from './types.js';

/** The entry-wise combinations PEFT applies to factors or to dense ΔW. */
export type Combination = 'linear' | 'ties' | 'dare_linear' | 'dare_ties' | 'magnitude_prune';

/** What {@link combineTensors} needs beyond the tensors and weights. */
export interface CombineOptions {
  /** Fraction kept by pruning; pruning is skipped at 1 or more, as in PEFT. */
  readonly density: number;
  /** TIES sign election. */
  readonly majoritySignMethod: MajoritySignMethod;
  /** DARE's keep mask for tensor `i` (1 keeps); asked only by the DARE combinations when density < 1. */
  readonly mask?: (i: number) => ArrayLike<number>;
}

/**
 * Keeps the `trunc(density · n)` entries of largest magnitude and zeroes
 * the rest (PEFT's `magnitude_based_pruning`); among equal magnitudes the
 * lower flat index is kept.
 */
export function magnitudePrune(tensor: Float64Array, density: number): Float64Array {
  if (density >= 1) return tensor;
  const k = Math.trunc(density * tensor.length);
  const order = Array.from(tensor.keys()).sort((x, y) => Math.abs(tensor[y]) - Math.abs(tensor[x]) || x - y);
  const out = new Float64Array(tensor.length);
  for (let i = 0; i < k; i++) out[order[i]] = tensor[order[i]];
  return out;
}

/**
 * DARE's random pruning with rescaling: `tensor ⊙ mask / density` (PEFT's
 * `random_pruning(rescale=True)`). Throws `SHAPE_MISMATCH` when the mask
 * does not have one entry per element.
 */
export function dropAndRescale(tensor: Float64Array, density: number, mask: ArrayLike<number>): Float64Array {
  if (density >= 1) return tensor;
  if (mask.length !== tensor.length) {
    throw new LoraFuseError('SHAPE_MISMATCH', `A DARE mask has ${mask.length} entries for a tensor of ${tensor.length}; masks need one entry per element.`, {
      details: { mask: mask.length, tensor: tensor.length },
    });
  }
  return tensor.map((v, i) => (mask[i] ? v / density : 0));
}

/**
 * PEFT's `calculate_majority_sign_mask`: per entry, the elected sign is that
 * of the sum of the (unweighted) tensors (`total`) or of their signs
 * (`frequency`), + on a tie; an entry of a tensor is kept when its sign
 * equals the elected one (so zeros are never kept).
 */
export function majoritySignMask(tensors: readonly Float64Array[], method: MajoritySignMethod): Uint8Array[] {
  const n = tensors[0].length;
  const elected = new Float64Array(n);
  for (const t of tensors) for (let j = 0; j < n; j++) elected[j] += method === 'total' ? t[j] : Math.sign(t[j]);
  return tensors.map((t) => Uint8Array.from(t, (v, j) => (Math.sign(v) === (elected[j] >= 0 ? 1 : -1) ? 1 : 0)));
}

/** `Σ_i w_i · t_i` (PEFT's `task_arithmetic`). */
export function weightedSum(tensors: readonly Float64Array[], weights: readonly number[]): Float64Array {
  const out = new Float64Array(tensors[0].length);
  tensors.forEach((t, i) => {
    for (let j = 0; j < out.length; j++) out[j] += weights[i] * t[j];
  });
  return out;
}

/** PEFT's `disjoint_merge`: the sum of the weighted entries that agree with the elected sign, over how many agree (at least 1). */
export function disjointMerge(tensors: readonly Float64Array[], weights: readonly number[], method: MajoritySignMethod): Float64Array {
  const masks = majoritySignMask(tensors, method);
  const out = new Float64Array(tensors[0].length);
  for (let j = 0; j < out.length; j++) {
    let sum = 0;
    let count = 0;
    tensors.forEach((t, i) => {
      if (masks[i][j]) {
        sum += weights[i] * t[j];
        count++;
      }
    });
    out[j] = sum / Math.max(count, 1);
  }
  return out;
}

/**
 * One of PEFT's combinations of `tensors` with `weights`: `linear`
 * (weighted sum), `magnitude_prune` (magnitude pruning, then weighted
 * sum), `ties` (magnitude pruning, sign election on the pruned unweighted
 * tensors, disjoint merge of the weighted ones), `dare_linear` and
 * `dare_ties` (as the previous two with DARE's random drop and rescale in
 * place of magnitude pruning).
 */
export function combineTensors(kind: Combination, tensors: readonly Float64Array[], weights: readonly number[], options: CombineOptions): Float64Array {
  const { density, majoritySignMethod } = options;
  const dare = (t: Float64Array, i: number) => {
    if (density >= 1) return t;
    if (!options.mask) throw new TypeError('combineTensors: the DARE combinations need a mask source.');
    return dropAndRescale(t, density, options.mask(i));
  };
  switch (kind) {
    case 'linear':
      return weightedSum(tensors, weights);
    case 'magnitude_prune':
      return weightedSum(
        tensors.map((t) => magnitudePrune(t, density)),
        weights,
      );
    case 'ties':
      return disjointMerge(
        tensors.map((t) => magnitudePrune(t, density)),
        weights,
        majoritySignMethod,
      );
    case 'dare_linear':
      return weightedSum(tensors.map(dare), weights);
    case 'dare_ties':
      return disjointMerge(tensors.map(dare), weights, majoritySignMethod);
  }
}
