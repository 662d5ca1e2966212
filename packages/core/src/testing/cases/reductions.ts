import type { ConformanceCase } from '../case.js';
import { kernelCase } from '../case.js';
import type { Shape } from '../../tensor/index.js';
import { uniformF32, withValues } from './host.js';

const LARGE = 1_048_577;
const MIXED: Shape[] = [[8, 64], [64, 8], [3000], [1], [0], [2049], [5, 5], [8, 64], [2048], [100]];

/** Cases of sum, columnSumSquares and globalNorm. */
export function reductionCases(): ConformanceCase[] {
  // Values are offset from zero: a sum that cancels to ~0 has no meaningful
  // relative error, and a positive bias makes naive f32 accumulation visible.
  const sum = (name: string, shape: Shape, specials: [number, number][] = [], large = false) =>
    kernelCase({ kernel: 'sum', name, large, inputs: (rng) => [withValues(uniformF32(rng, shape, -0.5, 1.5), specials)], call: (k, [x]) => k.sum(x) });
  const cols = (name: string, shape: Shape, specials: [number, number][] = [], large = false) =>
    kernelCase({
      kernel: 'columnSumSquares',
      name,
      large,
      inputs: (rng) => [withValues(uniformF32(rng, shape, -2, 2), specials)],
      call: (k, [x]) => k.columnSumSquares(x),
    });
  const norm = (name: string, shapes: Shape[], specials: [number, number][] = [], large = false, specialsAt = 0) =>
    kernelCase({
      kernel: 'globalNorm',
      name,
      large,
      inputs: (rng) => shapes.map((s, i) => withValues(uniformF32(rng, s, -2, 2), i === specialsAt ? specials : [])),
      call: (k, xs) => k.globalNorm(xs),
    });
  return [
    sum('odd [1001]', [1001]),
    sum('[3, 5, 7]', [3, 5, 7]),
    sum('one element', [1]),
    sum('empty is 0', [0]),
    sum('scalar', []),
    sum('NaN propagates', [257], [[100, NaN]]),
    sum('Inf propagates', [257], [[7, Infinity]]),
    sum(`large [${LARGE}]`, [LARGE], [], true),
    cols('[37, 13]', [37, 13]),
    cols('one element', [1, 1]),
    cols('rank 3 [4, 5, 6]', [4, 5, 6]),
    cols('no rows gives zeros', [0, 5]),
    cols('no columns', [5, 0]),
    cols('NaN stays in its column', [9, 6], [[15, NaN]]),
    cols('large [2049, 517]', [2049, 517], [], true),
    norm('three tensors', [[7, 3], [11], [2, 2, 5]]),
    norm('no tensors is 0', []),
    norm('an empty tensor among others', [[0], [5]]),
    norm('NaN propagates', [[4], [6]], [[2, NaN]]),
    // Backends may reduce several tensors per pass (WebGPU: seven); ten mixed ones cross that and chunk boundaries.
    norm('ten tensors of mixed sizes', MIXED),
    norm('NaN in the last of ten tensors', MIXED, [[40, NaN]], false, MIXED.length - 1),
    norm('large, 1.05M elements in 3 tensors', [[1000, 1000], [40_001], [7, 1001]], [], true),
  ];
}
