// A third-party importance metric that needs gradients: |∂L/∂θ| of each
// factor entry. adapt hands it the step's gradients because it declares them
// in `requires`; the CLI tests run `lorafuse adapt --plugin` with it.
import { PLUGIN_API_VERSION } from '@lorafuse/core';

/** @type {import('@lorafuse/core').ImportancePlugin} */
export const gradientMagnitudeMetric = Object.freeze({
  name: 'test/gradient-magnitude',
  kind: 'importance',
  apiVersion: PLUGIN_API_VERSION,
  description: '|∂L/∂θ|: the magnitude of the step’s gradient',
  requires: Object.freeze(['gradients']),
  /** @param {import('@lorafuse/core').ImportanceContext} context */
  score({ backend, module }) {
    if (!module.gradA || !module.gradB) throw new Error(`test/gradient-magnitude: ${module.name} came without gradients`);
    return { a: backend.kernels.abs(module.gradA), b: backend.kernels.abs(module.gradB) };
  },
});
