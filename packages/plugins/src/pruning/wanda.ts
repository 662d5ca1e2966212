import { PLUGIN_API_VERSION, type Backend, type DeviceTensor, type ImportancePlugin } from '@lorafuse/core';
import { requireInput } from './inputs.js';

function weighted(backend: Backend, w: DeviceTensor, norms: DeviceTensor): DeviceTensor {
  const magnitude = backend.kernels.abs(w);
  try {
    return backend.kernels.mul(magnitude, norms);
  } finally {
    backend.free(magnitude);
  }
}

/**
 * `wanda` (Sun et al. 2023) on each factor's own input features:
 * `I(A_kj) = |A_kj| · ‖X_j‖₂` with the module's input norms, and
 * `I(B_ik) = |B_ik| · ‖(A·X)_k‖₂` with the norms of the LoRA hidden
 * features (B's input).
 */
export const wandaMetric: ImportancePlugin = Object.freeze<ImportancePlugin>({
  name: 'wanda',
  kind: 'importance',
  apiVersion: PLUGIN_API_VERSION,
  description: '|W|·‖X_j‖₂ on each factor’s input features (needs inputNorms and hiddenNorms)',
  requires: Object.freeze(['inputNorms', 'hiddenNorms'] as const),
  score: ({ backend, module }) => {
    const n = requireInput('wanda', module.name, 'inputNorms', module.inputNorms);
    const h = requireInput('wanda', module.name, 'hiddenNorms', module.hiddenNorms);
    const a = weighted(backend, module.a, n);
    try {
      return { a, b: weighted(backend, module.b, h) };
    } catch (error) {
      backend.free(a);
      throw error;
    }
  },
});
