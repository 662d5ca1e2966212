// Activation statistics: input-feature norms of LoRA-targeted projections, from forward passes.
export { collectActivationSquares, collectInputNorms, type CollectActivationSquaresOptions, type CollectInputNormsOptions } from './input-norms.js';
