import { PLUGIN_API_VERSION, rngStreamId, type ImportancePlugin } from '@lorafuse/core';
import { integerOption } from './options.js';

/** Options of {@link randomMetric}. */
export interface RandomMetricOptions {
  /** Philox key word 0, an integer in `[0, 2³²)`; default 0. */
  readonly seed?: number;
}

/**
 * `random`: uniform scores from the backends' shared Philox stream, the
 * baseline every metric should beat. Tensor `<module>.lora_A` (or `_B`)
 * uses stream `rngStreamId` of that name; step `t` continues it at
 * counter `t · size`, so every step draws fresh numbers and the same seed
 * gives the same masks on every backend.
 */
export function randomMetric(options: RandomMetricOptions = {}): ImportancePlugin {
  const seed = integerOption('random', 'seed', options.seed ?? 0, 0, 0xffffffff);
  return Object.freeze({
    name: 'random',
    kind: 'importance',
    apiVersion: PLUGIN_API_VERSION,
    description: `uniform random scores (Philox, seed ${seed})`,
    score: ({ backend, module, step }) => {
      const draw = (factor: 'A' | 'B', shape: readonly number[], size: number) =>
        backend.kernels.randomUniform(shape, { seed, stream: rngStreamId(`${module.name}.lora_${factor}`), offset: step * size });
      const a = draw('A', module.a.shape, module.a.size);
      return { a, b: draw('B', module.b.shape, module.b.size) };
    },
  } satisfies ImportancePlugin);
}
