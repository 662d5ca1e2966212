import { LoraFuseError, PLUGIN_API_VERSION, type Backend, type DeviceTensor, type ImportancePlugin, type ImportanceState } from '@lorafuse/core';
import { requireInput } from './inputs.js';

/** Options of {@link taylorMetric}. */
export interface TaylorOptions {
  /**
   * β of the exponential smoothing across calls, in `[0, 1)`:
   * `Ī_t = β·Ī_{t−1} + (1−β)·|θ·∇θ|`, starting from `Ī_0 = |θ·∇θ|`.
   * 0 turns smoothing off. Default 0.85 (PLATON's β₁).
   */
  readonly smoothing?: number;
}

/** `|θ·g|`, smoothed with the previous call's value kept in `state`; returns a copy the pruner may free. */
function smoothed(backend: Backend, state: ImportanceState, key: string, param: DeviceTensor, grad: DeviceTensor, beta: number): DeviceTensor {
  const k = backend.kernels;
  const product = k.mul(param, grad);
  let current = k.abs(product);
  backend.free(product);
  const previous = state.get(key);
  if (previous && beta > 0) {
    const old = k.scale(previous, beta);
    const fresh = k.scale(current, 1 - beta);
    backend.free(current);
    current = k.add(old, fresh);
    backend.free(old);
    backend.free(fresh);
  }
  state.set(key, current);
  return k.reshape(current, current.shape);
}

/**
 * `taylor`: first-order Taylor importance `|θ·∇θ|` with exponential
 * smoothing across calls (Molchanov et al. 2019; smoothed as in PLATON,
 * Zhang et al. 2022). Reads `gradA`/`gradB` from each module.
 */
export function taylorMetric(options: TaylorOptions = {}): ImportancePlugin {
  const beta = options.smoothing ?? 0.85;
  if (typeof beta !== 'number' || !(beta >= 0 && beta < 1)) {
    throw new LoraFuseError('INVALID_OPTION', `taylor: smoothing must be in [0, 1), got ${beta}.`, {
      details: { plugin: 'taylor', option: 'smoothing', value: beta },
    });
  }
  return Object.freeze({
    name: 'taylor',
    kind: 'importance',
    apiVersion: PLUGIN_API_VERSION,
    description: `|θ·∇θ| smoothed across steps (β = ${beta}; needs gradients)`,
    requires: Object.freeze(['gradients'] as const),
    score: ({ backend, module, state }) => {
      const gradA = requireInput('taylor', module.name, 'gradA', module.gradA);
      const gradB = requireInput('taylor', module.name, 'gradB', module.gradB);
      const a = smoothed(backend, state, 'A', module.a, gradA, beta);
      return { a, b: smoothed(backend, state, 'B', module.b, gradB, beta) };
    },
  } satisfies ImportancePlugin);
}
