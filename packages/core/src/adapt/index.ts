// Adaptive merge: train the target and related adapters together, pruning after every step.
export { adapt, checkpointPruning, type AdaptEvent, type AdaptOptions, type PruneEvent } from './adapt.js';
export { PruneHook, type AdaptTensorSparsity, type NormSource, type PruneHookOptions, type StepPruning } from './prune-hook.js';
export { PUBLISHED_ADAPT_SETTINGS } from './preset.js';
export {
  ADAPT_PROVENANCE_FILE,
  buildAdaptProvenance,
  moduleSparsity,
  type AdaptProvenance,
  type AdaptProvenanceInput,
  type ModuleSparsity,
  type ProvenanceFile,
} from './provenance.js';
export { adaptiveMerge, checkAdaptiveMerge, type AdaptiveMergeOptions, type AdaptiveMergeResult } from './adaptive-merge.js';
export {
  searchPruneRatio,
  type CandidateCheckpoint,
  type FailedPruneRatio,
  type PruneRatioCandidate,
  type PruneRatioSearchProgress,
  type PruneRatioSearchOptions,
  type PruneRatioSearchResult,
} from './prune-ratio-search.js';
