export { formatBytes } from './format.js';
export {
  planMemory,
  type MemoryBreakdown,
  type MemoryPlan,
  type MemoryPlanOptions,
  type MemoryPlanSettings,
  type MemorySuggestion,
  type PlannedAdapt,
  type PlannedAdapter,
} from './plan.js';
export { PlanningBackend, type Classifier, type PeakSnapshot } from './planning-backend.js';
export { REFERENCE_MEMORY_TRAITS, type MemoryTraits } from './traits.js';
export { describePlan, outOfMemoryError } from './error.js';
