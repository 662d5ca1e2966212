// PEFT 0.21 `add_weighted_adapter` combination types (peft/tuners/lora/model.py).
import {
  checkMergeInputs,
  combineTensors,
  factorMatrix,
  lowRankFromDense,
  lowRankFromFactors,
  LoraFuseError,
  matmul,
  matrix,
  mergeEachModule,
  philoxDareMasks,
  type Combination,
  type DareMaskSource,
  type DareTarget,
  type LoraAdapter,
  type MergeContext,
  type MergeOptions,
  type MergerPlugin,
  type ModuleGroup,
} from '@lorafuse/core';
import { defineMerger } from './define.js';

/** PEFT's factor-wise combination types. */
export type FactorwiseType = Combination;

/** PEFT's SVD combination types. */
export type SvdType = 'svd' | 'ties_svd' | 'dare_linear_svd' | 'dare_ties_svd' | 'magnitude_prune_svd';

const DESCRIPTIONS: Record<FactorwiseType | SvdType, string> = {
  linear: 'PEFT linear: weighted sums of the A and of the B factors (√|w·s| on each)',
  ties: 'PEFT ties: TIES (trim, elect sign, disjoint merge) on the A and on the B factors',
  dare_linear: 'PEFT dare_linear: DARE random drop and rescale, then weighted sums of the factors',
  dare_ties: 'PEFT dare_ties: DARE random drop and rescale, then TIES on the factors',
  magnitude_prune: 'PEFT magnitude_prune: magnitude pruning, then weighted sums of the factors',
  svd: 'PEFT svd: truncated SVD of Σ w·s·B·A, computed from the factors',
  ties_svd: "PEFT ties_svd: TIES on each module's ΔW, then truncated SVD",
  dare_linear_svd: "PEFT dare_linear_svd: DARE on each module's ΔW, weighted sum, then truncated SVD",
  dare_ties_svd: "PEFT dare_ties_svd: DARE then TIES on each module's ΔW, then truncated SVD",
  magnitude_prune_svd: "PEFT magnitude_prune_svd: magnitude pruning of each module's ΔW, weighted sum, then truncated SVD",
};

const maskSource = (options: MergeOptions): DareMaskSource => options.dareMasks ?? philoxDareMasks(options.seed ?? 0);

/** Asks `source` for the DARE mask of tensor `target` of adapter `i` in `group`. */
const maskOf = (source: DareMaskSource, group: ModuleGroup, target: DareTarget, size: number, density: number) => (i: number) =>
  source({ module: group.name, target, adapter: i, size, density });

const flat = (m: { data: Float64Array }) => m.data;

/**
 * The factor-wise merge: with `c_i = w_i·s_i`, A is combined from
 * `sign(c_i)·√|c_i|·A_i` and B from `√|c_i|·B_i` separately (weights
 * applied after pruning and sign election, as PEFT does), rank `r`,
 * scaling 1. Needs equal ranks.
 */
function mergeFactorwise(kind: FactorwiseType, adapters: readonly LoraAdapter[], options: MergeOptions, context?: MergeContext): Promise<LoraAdapter> {
  const inputs = checkMergeInputs(adapters, options, { density: kind !== 'linear', equalRanks: true });
  const { weights, density, majoritySignMethod } = inputs;
  const source = maskSource(options);
  return mergeEachModule(adapters, inputs.modules, context, (group) => {
    const c = group.members.map((m, i) => weights[i] * m.scaling);
    const wa = c.map((x) => Math.sqrt(Math.abs(x)) * (x >= 0 ? 1 : -1));
    const wb = c.map((x) => Math.sqrt(Math.abs(x)));
    const as = group.members.map((m) => flat(factorMatrix(m.a)));
    const bs = group.members.map((m) => flat(factorMatrix(m.b)));
    const rank = group.members[0].rank;
    const a = combineTensors(kind, as, wa, { density, majoritySignMethod, mask: maskOf(source, group, 'A', as[0].length, density) });
    const b = combineTensors(kind, bs, wb, { density, majoritySignMethod, mask: maskOf(source, group, 'B', bs[0].length, density) });
    return { name: group.name, a: matrix(rank, group.cols, a), b: matrix(group.rows, rank, b), scaling: 1 };
  });
}

/** PEFT's default SVD rank: the largest rank any input adapter's config allows (`r` or a `rank_pattern` value). */
function defaultRank(adapters: readonly LoraAdapter[]): number {
  return Math.max(...adapters.map(({ config }) => Math.max(config.r, ...Object.values(config.rankPattern))));
}

/**
 * The SVD merge: `svd` truncates `Σ w_i·s_i·B_i·A_i` (from the factors);
 * the others build each module's dense `ΔW_i = s_i·B_i·A_i`, combine them
 * with `w_i` as PEFT does (pruning or DARE, sign election), then truncate.
 * The result has rank `options.rank` (default: the largest input rank),
 * `B = U_k·diag(S_k)`, `A = Vh_k`, scaling 1.
 */
function mergeSvd(kind: SvdType, adapters: readonly LoraAdapter[], options: MergeOptions, context?: MergeContext): Promise<LoraAdapter> {
  const inputs = checkMergeInputs(adapters, options, { density: kind !== 'svd' });
  const { weights, density, majoritySignMethod } = inputs;
  const rank = options.rank ?? defaultRank(adapters);
  if (!Number.isSafeInteger(rank) || rank < 1) {
    throw new LoraFuseError('INVALID_OPTION', `rank is ${rank}; the rank of an SVD merge must be a positive integer.`, { details: { rank } });
  }
  const tooSmall = inputs.modules.find((g) => rank > Math.min(g.rows, g.cols));
  if (tooSmall) {
    throw new LoraFuseError(
      'INVALID_OPTION',
      `rank ${rank} exceeds the size of ${tooSmall.name} (${tooSmall.rows} × ${tooSmall.cols}); choose a rank of at most ${Math.min(tooSmall.rows, tooSmall.cols)}.`,
      {
        details: { rank, module: tooSmall.name },
      },
    );
  }
  const source = maskSource(options);
  const combination = kind.slice(0, -'_svd'.length) as Combination;
  return mergeEachModule(adapters, inputs.modules, context, (group) => {
    const { members } = group;
    if (kind === 'svd') {
      const { a, b } = lowRankFromFactors(
        members.map((m, i) => factorMatrix(m.b, weights[i] * m.scaling)),
        members.map((m) => factorMatrix(m.a)),
        rank,
      );
      return { name: group.name, a, b, scaling: 1 };
    }
    const deltas = members.map((m) => flat(matmul(factorMatrix(m.b, m.scaling), factorMatrix(m.a))));
    const size = group.rows * group.cols;
    const delta = combineTensors(combination, deltas, weights, { density, majoritySignMethod, mask: maskOf(source, group, 'delta', size, density) });
    const { a, b } = lowRankFromDense(matrix(group.rows, group.cols, delta), rank);
    return { name: group.name, a, b, scaling: 1 };
  });
}

/** A merger plugin named `name` running `run`; PEFT merges a single adapter with `linear`, whatever the type asked. */
function peftMerger(
  name: FactorwiseType | SvdType,
  run: (adapters: readonly LoraAdapter[], options: MergeOptions, context?: MergeContext) => Promise<LoraAdapter>,
): MergerPlugin {
  return defineMerger(name, DESCRIPTIONS[name], async (adapters, options, context) =>
    adapters.length === 1 ? mergeFactorwise('linear', adapters, options, context) : run(adapters, options, context),
  );
}

const FACTORWISE: readonly FactorwiseType[] = ['linear', 'ties', 'dare_linear', 'dare_ties', 'magnitude_prune'];
const SVD: readonly SvdType[] = ['svd', 'ties_svd', 'dare_linear_svd', 'dare_ties_svd', 'magnitude_prune_svd'];

/**
 * The combination types of PEFT 0.21 `add_weighted_adapter` other than
 * `cat` (see {@link catMerger}), under PEFT's names, with PEFT's semantics.
 * DARE masks come from `options.dareMasks` or else Philox keyed by
 * `options.seed` ({@link philoxDareMasks}).
 */
export const peftMergers: readonly MergerPlugin[] = Object.freeze([
  ...FACTORWISE.map((kind) => peftMerger(kind, (adapters, options, context) => mergeFactorwise(kind, adapters, options, context))),
  ...SVD.map((kind) => peftMerger(kind, (adapters, options, context) => mergeSvd(kind, adapters, options, context))),
]);
