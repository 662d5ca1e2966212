import { LoraFuseError, PLUGIN_API_VERSION, type GroupingPlugin } from '@lorafuse/core';
import { integerOption } from './options.js';

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** `module`: each A and each B tensor of each adapter is one group (the method's default). */
export const moduleGrouping: GroupingPlugin = Object.freeze<GroupingPlugin>({
  name: 'module',
  kind: 'grouping',
  apiVersion: PLUGIN_API_VERSION,
  description: 'each A and each B tensor on its own',
  groups: (tensors) => tensors.map((t, i) => ({ members: [i], groupSize: size(t.shape) })),
});

/** `row`: each row of each factor (a rank component of A over the inputs, an output of B over the rank) is one group. */
export const rowGrouping: GroupingPlugin = Object.freeze<GroupingPlugin>({
  name: 'row',
  kind: 'grouping',
  apiVersion: PLUGIN_API_VERSION,
  description: 'each row of each factor on its own',
  groups: (tensors) => tensors.map((t, i) => ({ members: [i], groupSize: t.shape[t.shape.length - 1] })),
});

/** `global`: every entry of every factor competes in one group. */
export const globalGrouping: GroupingPlugin = Object.freeze<GroupingPlugin>({
  name: 'global',
  kind: 'grouping',
  apiVersion: PLUGIN_API_VERSION,
  description: 'all factors of all modules together',
  groups: (tensors) => (tensors.length === 0 ? [] : [{ members: tensors.map((_, i) => i), groupSize: tensors.reduce((sum, t) => sum + size(t.shape), 0) }]),
});

/**
 * N:M structured sparsity: within each run of `m` consecutive weights along
 * a factor's input dimension (the last), `n` are kept, so the ratio is
 * `1 − n/m`. Named `"<n>:<m>"` (`2:4`, `4:8`). A factor whose input
 * dimension `m` does not divide throws `SHAPE_MISMATCH`.
 */
export function nmGrouping(n: number, m: number): GroupingPlugin {
  integerOption('N:M', 'M', m, 1);
  integerOption('N:M', 'N', n, 0, m);
  const name = `${n}:${m}`;
  return Object.freeze({
    name,
    kind: 'grouping',
    apiVersion: PLUGIN_API_VERSION,
    description: `keep ${n} of every ${m} consecutive input weights`,
    impliedRatio: (m - n) / m,
    groups: (tensors) =>
      tensors.map((t, i) => {
        const dim = t.shape[t.shape.length - 1];
        if (dim % m !== 0) {
          throw new LoraFuseError(
            'SHAPE_MISMATCH',
            `${name} sparsity needs input dimensions that are multiples of ${m}, but lora_${t.factor} of ${t.module} has shape [${t.shape.join(', ')}].`,
            {
              details: { grouping: name, module: t.module, factor: t.factor, shape: [...t.shape] },
            },
          );
        }
        return { members: [i], groupSize: m };
      }),
  } satisfies GroupingPlugin);
}
