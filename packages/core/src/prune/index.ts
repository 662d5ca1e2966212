// Pruning: the importance/grouping/schedule plugin contracts and the Pruner that applies them on a backend.
export type {
  AdamMoments,
  Factor,
  FactorScores,
  GroupableTensor,
  GroupingPlugin,
  ImportanceContext,
  ImportanceInput,
  ImportancePlugin,
  ImportanceState,
  PrunableModule,
  SchedulePlugin,
  SelectionGroup,
} from './types.js';
export { prunedCount } from './count.js';
export { checkRatio } from './check-modules.js';
export { Pruner, type PruneCallOptions, type PrunerOptions, type PruneReport, type TensorSparsity } from './pruner.js';
export { pruneAdapter, type ModuleNorms, type PruneAdapterOptions, type PruneAdapterResult } from './adapter.js';
