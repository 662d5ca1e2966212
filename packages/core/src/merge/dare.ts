import { philoxUniform, rngStreamId } from '../reference/philox.js';
import type { DareMaskSource } from './types.js';

/**
 * DARE's default keep masks: entry `j` of the mask for (module, target,
 * adapter) is kept when `philoxUniform(seed, stream, j) < density`, with
 * the stream the {@link rngStreamId} of `"<module>/<target>/<adapter>"`. The same
 * seed gives the same masks on every machine; they differ from PyTorch's
 * `torch.bernoulli`, which cannot be reproduced.
 */
export function philoxDareMasks(seed: number): DareMaskSource {
  return ({ module, target, adapter, size, density }) => {
    const stream = rngStreamId(`${module}/${target}/${adapter}`);
    return Uint8Array.from({ length: size }, (_, j) => (philoxUniform(seed, stream, j) < density ? 1 : 0));
  };
}
