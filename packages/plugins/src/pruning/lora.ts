import { PLUGIN_API_VERSION, type ImportancePlugin } from '@lorafuse/core';
import { requireInput } from './inputs.js';

/**
 * `lora`: the factor importance of Miyano & Arase (2025), the gradient
 * magnitude of `S = Σ |B·A| ⊙ n` with `W = B·A` and `n` the input-feature
 * norms: `I(A_kj) = n_j·|Σ_i sign(W_ij)·B_ik|`,
 * `I(B_ik) = |Σ_j sign(W_ij)·A_kj·n_j|` (the backend's `loraImportance` kernel).
 */
export const loraMetric: ImportancePlugin = Object.freeze<ImportancePlugin>({
  name: 'lora',
  kind: 'importance',
  apiVersion: PLUGIN_API_VERSION,
  description: 'the method’s factor importance: |∂/∂θ Σ|B·A|⊙n| (needs inputNorms)',
  requires: Object.freeze(['inputNorms'] as const),
  score: ({ backend, module }) => backend.kernels.loraImportance(module.a, module.b, requireInput('lora', module.name, 'inputNorms', module.inputNorms)),
});
