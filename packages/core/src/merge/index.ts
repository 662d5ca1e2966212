// Merging LoRA adapters: the merger plugin contract and the float64 host math the built-in mergers share.
export type { DareMaskRequest, DareMaskSource, DareTarget, MajoritySignMethod, MergeContext, MergeOptions, MergeProgress, MergerPlugin } from './types.js';
export { checkMergeInputs, type MergeInputs, type MergeRequirements, type ModuleGroup } from './inputs.js';
export {
  combineTensors,
  disjointMerge,
  dropAndRescale,
  magnitudePrune,
  majoritySignMask,
  weightedSum,
  type Combination,
  type CombineOptions,
} from './combine.js';
export { hstack, lowRankFromDense, lowRankFromFactors, vstack, type LowRankFactors } from './low-rank.js';
export { philoxDareMasks } from './dare.js';
export { mergeEachModule, mergedAdapter, type MergedModule } from './result.js';
export { catMerge, checkCatMerge } from './cat.js';
export { factorMatrix } from './factor.js';
export { householderQr, jacobiSvd, matmul, matrix, transpose, type Matrix, type QrFactors, type SvdFactors } from '../linalg/index.js';
