import type { NormalOptions, RandomOptions } from '../../backend/kernels.js';
import type { Shape } from '../../tensor/index.js';
import type { ConformanceCase } from '../case.js';
import { kernelCase, rejectionCase } from '../case.js';

const uniform = (name: string, shape: Shape, options: RandomOptions, large = false): ConformanceCase =>
  kernelCase({ kernel: 'randomUniform', name, large, inputs: () => [], call: (k) => k.randomUniform(shape, options) });

const normal = (name: string, shape: Shape, options: NormalOptions, large = false): ConformanceCase =>
  kernelCase({ kernel: 'randomNormal', name, large, inputs: () => [], call: (k) => k.randomNormal(shape, options) });

/** Cases of the counter-based generator: the same bits on every backend. */
export function randomCases(): ConformanceCase[] {
  return [
    uniform('[1000] seed 0', [1000], { seed: 0, stream: 0 }),
    uniform('[7, 13] seed 42 stream 3', [7, 13], { seed: 42, stream: 3 }),
    uniform('largest seed and stream', [33], { seed: 2 ** 32 - 1, stream: 2 ** 32 - 1 }),
    uniform('counter crosses 2^32', [9], { seed: 5, stream: 1, offset: 2 ** 32 - 4 }),
    uniform('offset 2^40 + 5', [17], { seed: 5, stream: 1, offset: 2 ** 40 + 5 }),
    uniform('empty', [0], { seed: 1, stream: 1 }),
    uniform('large [1048583]', [1_048_583], { seed: 9, stream: 2 }, true),
    normal('[1001] seed 0', [1001], { seed: 0, stream: 0 }),
    normal('odd offset starts mid-pair', [64], { seed: 3, stream: 7, offset: 1 }),
    normal('mean 2, std 0.5', [5, 11], { seed: 11, stream: 0, mean: 2, std: 0.5 }),
    normal('counter crosses 2^32', [10], { seed: 5, stream: 1, offset: 2 ** 32 - 3 }),
    normal('one element', [1], { seed: 8, stream: 8 }),
    normal('large [1048583]', [1_048_583], { seed: 9, stream: 3 }, true),
    rejectionCase({
      kernel: 'randomUniform',
      name: 'a negative seed',
      code: 'INVALID_OPTION',
      inputs: () => [],
      call: (k) => k.randomUniform([4], { seed: -1, stream: 0 }),
    }),
    rejectionCase({
      kernel: 'randomNormal',
      name: 'a fractional stream',
      code: 'INVALID_OPTION',
      inputs: () => [],
      call: (k) => k.randomNormal([4], { seed: 1, stream: 0.5 }),
    }),
  ];
}
