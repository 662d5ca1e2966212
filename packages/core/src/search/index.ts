export { minimizeOnePlusOne, type OnePlusOneOptions, type SearchResult } from './one-plus-one.js';
export { searchMergeWeights, type MergeWeightSearchOptions, type MergeWeightSearchResult } from './merge-weights.js';
