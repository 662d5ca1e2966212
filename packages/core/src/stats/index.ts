// Activation statistics: input-feature norms of LoRA-targeted projections, from forward passes.
export { collectInputNorms, type CollectInputNormsOptions } from './input-norms.js';
