import type { ConformanceCase } from '../case.js';
import { kernelCase, rejectionCase } from '../case.js';
import type { Shape } from '../../tensor/index.js';
import type { InputRandom } from '../input-random.js';
import { f32, uniformF32, withValues } from './host.js';

/** HF Llama cos/sin tables `[rows, dim]` for the given positions (halves duplicated). */
function ropeTables(positions: readonly number[], dim: number): [Float32Array, Float32Array] {
  const cos = new Float32Array(positions.length * dim);
  const sin = new Float32Array(positions.length * dim);
  positions.forEach((pos, s) => {
    for (let i = 0; i < dim; i++) {
      const angle = pos / 10000 ** ((2 * (i % (dim / 2))) / dim);
      cos[s * dim + i] = Math.cos(angle);
      sin[s * dim + i] = Math.sin(angle);
    }
  });
  return [cos, sin];
}

function rmsCases(): ConformanceCase[] {
  const c = (name: string, shape: Shape, eps: number, opts: { nan?: boolean; zeroRow?: boolean; large?: boolean } = {}) => {
    const dim = shape[shape.length - 1];
    const inputs = (rng: InputRandom) => {
      let x = uniformF32(rng, shape, -3, 3);
      if (opts.nan) x = withValues(x, [[1, NaN]]);
      if (opts.zeroRow)
        x = withValues(
          x,
          Array.from({ length: dim }, (_, d) => [d, 0] as const),
        );
      return [x, uniformF32(rng, [dim], 0.5, 1.5), uniformF32(rng, shape, -1, 1)];
    };
    return [
      kernelCase({ kernel: 'rmsNorm', name, large: opts.large, inputs, call: (k, [x, w]) => k.rmsNorm(x, w, eps) }),
      kernelCase({ kernel: 'rmsNormBackward', name, large: opts.large, inputs, call: (k, [x, w, dy]) => k.rmsNormBackward(x, w, dy, eps) }),
    ];
  };
  return [
    ...c('[3, 5, 64]', [3, 5, 64], 1e-6),
    ...c('[7, 129]', [7, 129], 1e-5),
    ...c('one element', [1, 1], 1e-6),
    ...c('a zero row', [3, 17], 1e-6, { zeroRow: true }),
    ...c('NaN stays in its row', [4, 9], 1e-6, { nan: true }),
    ...c('empty rows [0, 8]', [0, 8], 1e-6),
    ...c('large [1024, 1025]', [1024, 1025], 1e-6, { large: true }),
    rejectionCase({
      kernel: 'rmsNorm',
      name: 'a weight of the wrong length',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [2, 8]), uniformF32(rng, [7])],
      call: (k, [x, w]) => k.rmsNorm(x, w, 1e-6),
    }),
  ];
}

function ropeCases(): ConformanceCase[] {
  const c = (name: string, shape: [number, number, number, number], perBatch: boolean) => {
    const [batch, , seq, dim] = shape;
    const inputs = (rng: InputRandom) => {
      // Positions start past 0 and, per batch, at different offsets, so a kernel
      // that ignores the tables' batch dimension or position gets caught.
      const positions = Array.from({ length: perBatch ? batch * seq : seq }, (_, i) => 3 + (i % seq) + (perBatch ? 5 * Math.floor(i / seq) : 0));
      const [cos, sin] = ropeTables(positions, dim);
      const tableShape = perBatch ? [batch, seq, dim] : [seq, dim];
      return [uniformF32(rng, shape), f32(tableShape, cos), f32(tableShape, sin)];
    };
    return [
      kernelCase({ kernel: 'rope', name, inputs, call: (k, [x, cos, sin]) => k.rope(x, cos, sin) }),
      kernelCase({ kernel: 'ropeBackward', name, inputs, call: (k, [dy, cos, sin]) => k.ropeBackward(dy, cos, sin) }),
    ];
  };
  return [
    ...c('[2, 3, 7, 8] shared tables', [2, 3, 7, 8], false),
    ...c('[2, 2, 5, 16] per-batch tables', [2, 2, 5, 16], true),
    ...c('one position, D = 2', [1, 1, 1, 2], false),
    ...c('[1, 4, 33, 64]', [1, 4, 33, 64], false),
    rejectionCase({
      kernel: 'rope',
      name: 'an odd head dimension',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [1, 1, 2, 3]), uniformF32(rng, [2, 3]), uniformF32(rng, [2, 3])],
      call: (k, [x, cos, sin]) => k.rope(x, cos, sin),
    }),
  ];
}

/** Cases of RMSNorm and RoPE, forward and backward. */
export function normalizationCases(): ConformanceCase[] {
  return [...rmsCases(), ...ropeCases()];
}
