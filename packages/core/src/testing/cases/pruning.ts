import { Tensor, shapeSize, type Shape } from '../../tensor/index.js';
import type { ConformanceCase } from '../case.js';
import { kernelCase, rejectionCase } from '../case.js';
import type { InputRandom } from '../input-random.js';
import { f32, u8, uniformF32 } from './host.js';

/**
 * Small multiples of 1/4: every `B·A` entry is then exact in f32 and in
 * float64, so `sign(W)` (including the exact zeros) is the same everywhere.
 */
function quarters(rng: InputRandom, shape: Shape): Tensor {
  const out = new Float32Array(shapeSize(shape));
  for (let i = 0; i < out.length; i++) out[i] = rng.int(-4, 5) / 4;
  return f32(shape, out);
}

function importanceCase(name: string, r: number, inF: number, outF: number, large = false): ConformanceCase {
  return kernelCase({
    kernel: 'loraImportance',
    name,
    large,
    inputs: (rng) => [quarters(rng, [r, inF]), quarters(rng, [outF, r]), uniformF32(rng, [inF], 0.01, 3)],
    call: (k, [a, b, n]) => k.loraImportance(a, b, n),
  });
}

function maskCase(
  name: string,
  groups: number,
  n: number,
  k: number,
  values: (rng: InputRandom, size: number) => Float32Array,
  large = false,
): ConformanceCase {
  return kernelCase({
    kernel: 'bottomKMask',
    name,
    large,
    inputs: (rng) => [f32([groups, n], values(rng, groups * n))],
    call: (kernels, [scores]) => kernels.bottomKMask(scores, k),
  });
}

/** A few distinct levels, so most of each group ties with something. */
const levels = (count: number) => (rng: InputRandom, size: number) => Float32Array.from({ length: size }, () => rng.int(0, count) / 2);

/** NaN, infinities, signed zeros and subnormals among ordinary values. */
function specials(rng: InputRandom, size: number): Float32Array {
  const pool = [NaN, -NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.5, -3.5, 1, 2];
  return Float32Array.from({ length: size }, () => pool[rng.int(0, pool.length)]);
}

const spread = (rng: InputRandom, size: number) => rng.floats(size, -10, 10);

function maskApplyCase(name: string, shape: Shape, maskShape: Shape, reset: boolean, large = false): ConformanceCase {
  return kernelCase({
    kernel: 'maskApply',
    name,
    large,
    inputs: (rng) => {
      const size = shapeSize(shape);
      const mask = Uint8Array.from({ length: size }, () => [0, 0, 1, 255][rng.int(0, 4)]);
      const base = [uniformF32(rng, shape), u8(maskShape, mask)];
      return reset ? [...base, uniformF32(rng, shape, 5, 6)] : base;
    },
    call: (k, [param, mask, init]) => {
      k.maskApply(param, mask, init);
      return param;
    },
  });
}

/** Cases of importance scoring, bottom-k selection and mask application. */
export function pruningCases(): ConformanceCase[] {
  return [
    importanceCase('r 4, 13 -> 11', 4, 13, 11),
    importanceCase('r 8, 67 -> 45', 8, 67, 45),
    importanceCase('r 1, 1 -> 1', 1, 1, 1),
    importanceCase('r 0 scores nothing', 0, 5, 3),
    importanceCase('large r 8, 1024 -> 1024', 8, 1024, 1024, true),
    rejectionCase({
      kernel: 'loraImportance',
      name: 'norms of the wrong length',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [2, 5]), uniformF32(rng, [3, 2]), uniformF32(rng, [4])],
      call: (k, [a, b, n]) => k.loraImportance(a, b, n),
    }),
    maskCase('distinct [5, 37] k 11', 5, 37, 11, spread),
    maskCase('ties go to the lower index [3, 40] k 17', 3, 40, 17, levels(4)),
    maskCase('NaN lowest, -0 ties +0 [4, 24] k 9', 4, 24, 9, specials),
    maskCase('k 0 prunes nothing', 2, 9, 0, spread),
    maskCase('k n prunes everything', 2, 9, 9, spread),
    maskCase('one element', 1, 1, 1, spread),
    maskCase('no groups', 0, 5, 3, spread),
    maskCase('empty groups', 3, 0, 0, spread),
    maskCase('large [3, 350001] k 123457', 3, 350_001, 123_457, spread, true),
    maskCase('large ties [1, 1048576] k 500000', 1, 1_048_576, 500_000, levels(256), true),
    rejectionCase({
      kernel: 'bottomKMask',
      name: 'k above the group size',
      code: 'INVALID_OPTION',
      inputs: (rng) => [uniformF32(rng, [2, 4])],
      call: (k, [scores]) => k.bottomKMask(scores, 5),
    }),
    maskApplyCase('zero [7, 13]', [7, 13], [7, 13], false),
    maskApplyCase('reset to init [7, 13]', [7, 13], [7, 13], true),
    maskApplyCase('flat [1, 91] mask on [7, 13]', [7, 13], [1, 91], false),
    maskApplyCase('empty', [0, 4], [0], false),
    maskApplyCase('large [1048583] reset', [1_048_583], [1_048_583], true, true),
    rejectionCase({
      kernel: 'maskApply',
      name: 'a mask of the wrong size',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [3, 4]), new Tensor('u8', [11])],
      call: (k, [param, mask]) => k.maskApply(param, mask),
    }),
  ];
}
