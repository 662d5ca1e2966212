import { PLUGIN_API_VERSION, type ImportancePlugin } from '@lorafuse/core';

/** `magnitude`: `I(θ) = |θ|` for every entry of A and B. */
export const magnitudeMetric: ImportancePlugin = Object.freeze<ImportancePlugin>({
  name: 'magnitude',
  kind: 'importance',
  apiVersion: PLUGIN_API_VERSION,
  description: '|θ|: the absolute value of each factor entry',
  score: ({ backend, module }) => ({ a: backend.kernels.abs(module.a), b: backend.kernels.abs(module.b) }),
});
