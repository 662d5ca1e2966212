import type { ConformanceCase } from '../case.js';
import { kernelCase, rejectionCase } from '../case.js';
import type { MatmulOptions } from '../../backend/kernels.js';
import type { Shape } from '../../tensor/index.js';
import { normalF32, uniformF32, withValues } from './host.js';

function matmulCase(
  name: string,
  aShape: Shape,
  bShape: Shape,
  options: MatmulOptions = {},
  extra: { large?: boolean; bDtype?: 'f16' | 'bf16'; nan?: boolean } = {},
): ConformanceCase {
  return kernelCase({
    kernel: 'matmul',
    name,
    large: extra.large,
    inputs: (rng) => {
      let a = uniformF32(rng, aShape);
      if (extra.nan)
        a = withValues(a, [
          [3, NaN],
          [a.size - 1, Infinity],
        ]);
      const b = uniformF32(rng, bShape);
      return [a, extra.bDtype ? b.castFloat(extra.bDtype) : b];
    },
    call: (k, [a, b]) => k.matmul(a, b, options),
  });
}

/** Cases of `matmul` and `loraLinear`. */
export function linearCases(): ConformanceCase[] {
  const lora = (name: string, xShape: Shape, out: number, r: number, extra: { w0?: 'f16' | 'bf16'; large?: boolean; nan?: boolean } = {}) =>
    kernelCase({
      kernel: 'loraLinear',
      name,
      large: extra.large,
      inputs: (rng) => {
        const inF = xShape[xShape.length - 1];
        let x = normalF32(rng, xShape);
        if (extra.nan) x = withValues(x, [[1, NaN]]);
        const w0 = normalF32(rng, [out, inF], 0.2);
        return [x, extra.w0 ? w0.castFloat(extra.w0) : w0, normalF32(rng, [r, inF], 0.2), normalF32(rng, [out, r], 0.2)];
      },
      call: (k, [x, w0, a, b]) => k.loraLinear(x, w0, a, b, 4),
    });
  return [
    matmulCase('1x1x1', [1, 1], [1, 1]),
    matmulCase('odd 37x19x23', [37, 19], [19, 23]),
    matmulCase('transA 29x31x17', [31, 29], [31, 17], { transA: true }),
    matmulCase('transB 33x47x21', [33, 47], [21, 47], { transB: true }),
    matmulCase('transA transB 13x9x11', [9, 13], [11, 9], { transA: true, transB: true }),
    matmulCase('batched [3, 2] 7x5x6', [3, 2, 7, 5], [3, 2, 5, 6]),
    matmulCase('batched a, shared b, transB', [4, 9, 8], [10, 8], { transB: true }),
    matmulCase('batched transposed a, shared b', [3, 8, 9], [8, 5], { transA: true }),
    matmulCase('shared a, batched b', [6, 5], [3, 5, 4]),
    matmulCase('k = 0 gives zeros', [5, 0], [0, 4]),
    matmulCase('m = 0', [0, 3], [3, 4]),
    matmulCase('skinny LoRA down 257x576x8', [257, 576], [8, 576], { transB: true }),
    matmulCase('skinny LoRA up 257x8x576', [257, 8], [576, 8], { transB: true }),
    // Outputs narrower than they are tall (a LoRA rank wide): some backends lay the work out down the column.
    matmulCase('narrow transA 64x64x8 (a LoRA B gradient)', [64, 64], [64, 8], { transA: true }),
    matmulCase('narrow 70x12x16', [70, 12], [12, 16]),
    matmulCase('narrow batched [2] 45x20x4, transB', [2, 45, 20], [2, 4, 20], { transB: true }),
    matmulCase('f16 weight 19x33x27', [19, 33], [27, 33], { transB: true }, { bDtype: 'f16' }),
    matmulCase('bf16 weight 21x17x15', [21, 17], [17, 15], {}, { bDtype: 'bf16' }),
    matmulCase('NaN and Inf propagate', [6, 5], [5, 7], {}, { nan: true }),
    matmulCase('large skinny 1031x8x1029', [1031, 8], [8, 1029], {}, { large: true }),
    matmulCase('large 257x577x515', [257, 577], [515, 577], { transB: true }, { large: true }),
    rejectionCase({
      kernel: 'matmul',
      name: 'inner dimension mismatch',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [3, 4]), uniformF32(rng, [5, 6])],
      call: (k, [a, b]) => k.matmul(a, b),
    }),
    rejectionCase({
      kernel: 'matmul',
      name: 'an f16 left operand',
      code: 'DTYPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [3, 4]).castFloat('f16'), uniformF32(rng, [4, 2])],
      call: (k, [a, b]) => k.matmul(a, b),
    }),
    lora('[2, 3, 17] -> 13, r = 4', [2, 3, 17], 13, 4),
    lora('one row, r = 1, 1 -> 1', [1, 1], 1, 1),
    lora('r = 0 is the base layer', [5, 9], 7, 0),
    lora('f16 base weight', [4, 33], 19, 8, { w0: 'f16' }),
    lora('bf16 base weight', [4, 31], 23, 8, { w0: 'bf16' }),
    lora('NaN in x propagates', [3, 6], 5, 2, { nan: true }),
    lora('large 257 x 576 -> 576, r = 8', [257, 576], 576, 8, { large: true }),
    rejectionCase({
      kernel: 'loraLinear',
      name: 'A of the wrong width',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [2, 6]), uniformF32(rng, [5, 6]), uniformF32(rng, [3, 7]), uniformF32(rng, [5, 3])],
      call: (k, [x, w0, a, b]) => k.loraLinear(x, w0, a, b, 1),
    }),
  ];
}
