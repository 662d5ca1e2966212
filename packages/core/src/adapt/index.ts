// Adaptive merge: train the target and related adapters together, pruning after every step.
export { adapt, type AdaptEvent, type AdaptOptions, type AdaptTensorSparsity, type PruneEvent } from './adapt.js';
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
export { searchPruneRatio, type PruneRatioCandidate, type PruneRatioSearchOptions, type PruneRatioSearchResult } from './prune-ratio-search.js';
