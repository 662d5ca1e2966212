import type { Backend } from '../../backend/backend.js';
import type { DeviceTensor } from '../../backend/device-tensor.js';
import type { DropoutOptions, NormalOptions, RandomOptions } from '../../backend/kernels.js';
import { philox4x32 } from '../../reference/philox.js';
import { Tensor, type Shape } from '../../tensor/index.js';
import type { ConformanceCase } from '../case.js';
import { kernelCase, rejectionCase } from '../case.js';
import { ConformanceMismatch } from '../compare.js';
import type { InputRandom } from '../input-random.js';
import { f32, uniformF32, withValues } from './host.js';

const uniform = (name: string, shape: Shape, options: RandomOptions, large = false): ConformanceCase =>
  kernelCase({ kernel: 'randomUniform', name, large, inputs: () => [], call: (k) => k.randomUniform(shape, options) });

const normal = (name: string, shape: Shape, options: NormalOptions, large = false): ConformanceCase =>
  kernelCase({ kernel: 'randomNormal', name, large, inputs: () => [], call: (k) => k.randomNormal(shape, options) });

const LARGE = 1_048_583;

/**
 * Dropout as the contract states it, in float64: `u` from the Philox block
 * (Random123's known-answer vectors check `philox4x32`), kept when
 * `u ≥ p`, then one rounding of `x · fround(1 / (1 − p))` to f32.
 */
function dropoutF64(x: Tensor, { seed, stream, offset = 0, p }: DropoutOptions): Tensor {
  const scale = Math.fround(1 / (1 - p));
  const xv = x.data as Float32Array;
  const out = new Float32Array(xv.length);
  for (let i = 0; i < xv.length; i++) {
    const c = offset + i;
    const u = (philox4x32([c % 2 ** 32, Math.floor(c / 2 ** 32), 0, 0], [seed, stream])[0] >>> 8) / 2 ** 24;
    out[i] = u >= p ? Math.fround(xv[i] * scale) : 0;
  }
  return f32(x.shape, out);
}

const dropout = (name: string, shape: Shape, options: DropoutOptions, values = (rng: InputRandom) => uniformF32(rng, shape, -4, 4), large = false) =>
  kernelCase({
    kernel: 'dropout',
    name,
    large,
    inputs: (rng) => [values(rng)],
    call: (k, [x]) => k.dropout(x, options),
    expected: ([x]) => [dropoutF64(x, options)],
  });

/**
 * The share of dropped elements of a large tensor of ones is within five
 * standard deviations of `p`, and every kept element is `fround(1 / (1 − p))`.
 */
function dropoutRateCase(p: number): ConformanceCase {
  const name = `dropout/rate of p = ${p} over [${LARGE}]`;
  return {
    name,
    kernel: 'dropout',
    large: true,
    async run(backend: Backend) {
      const x = backend.upload(f32([LARGE], new Float32Array(LARGE).fill(1)));
      let y: DeviceTensor | undefined;
      let values: Float32Array;
      try {
        y = backend.kernels.dropout(x, { seed: 77, stream: 5, offset: 1000, p });
        values = (await backend.read(y)).data as Float32Array;
      } finally {
        backend.free(x);
        if (y) backend.free(y);
      }
      const scale = Math.fround(1 / (1 - p));
      const dropped = values.reduce((n, v) => n + (Object.is(v, 0) ? 1 : 0), 0);
      const strays = values.reduce((n, v) => n + (Object.is(v, 0) || v === scale ? 0 : 1), 0);
      const sigma = Math.sqrt((p * (1 - p)) / LARGE);
      if (strays > 0) throw new ConformanceMismatch(`${name}: ${strays} elements are neither +0 nor the scale ${scale}.`);
      if (Math.abs(dropped / LARGE - p) > 5 * sigma) {
        throw new ConformanceMismatch(
          `${name}: ${dropped} of ${LARGE} dropped (${(dropped / LARGE).toFixed(5)}), more than 5σ = ${(5 * sigma).toExponential(2)} from p.`,
        );
      }
    },
  };
}

const rejectDropout = (name: string, code: 'INVALID_OPTION' | 'DTYPE_MISMATCH', options: DropoutOptions, dtype: 'f32' | 'i32' = 'f32') =>
  rejectionCase({
    kernel: 'dropout',
    name,
    code,
    inputs: () => [dtype === 'f32' ? f32([4], new Float32Array(4)) : new Tensor('i32', [4], new Int32Array(4))],
    call: (k, [x]) => k.dropout(x, options),
  });

function dropoutCases(): ConformanceCase[] {
  const specials = (shape: Shape) => (rng: InputRandom) =>
    withValues(uniformF32(rng, shape, -4, 4), [
      [0, NaN],
      [1, Infinity],
      [2, -Infinity],
      [3, -0],
      [4, 0],
      [5, -(2 ** -149)],
      [6, 3e38],
    ]);
  return [
    dropout('[7, 13] p 0.1', [7, 13], { seed: 1, stream: 2, p: 0.1 }),
    dropout('one element, p 0.5', [1], { seed: 3, stream: 4, p: 0.5 }),
    dropout('empty', [0, 3], { seed: 3, stream: 4, p: 0.5 }),
    dropout('a multiple of 4, [6, 20], p 0.05', [6, 20], { seed: 9, stream: 0, p: 0.05 }),
    dropout('p = 0 copies x, NaN and infinities included', [37], { seed: 5, stream: 6, p: 0 }, specials([37])),
    dropout('p 0.999: a few kept, scaled by about 1000', [4099], { seed: 5, stream: 6, p: 0.999 }),
    dropout('NaN, infinities, signed zeros, overflow to Inf', [64], { seed: 8, stream: 1, p: 0.3 }, specials([64])),
    dropout('raw bit patterns [4099], subnormals included', [4099], { seed: 8, stream: 2, p: 1 / 3 }, (rng) => f32([4099], rng.bitPatterns(4099))),
    // Subnormal products round on the f32 grid; with scale > 2 some become normal.
    ...[0.3, 0.9].map((p) =>
      dropout(`subnormal inputs [2053], p ${p}`, [2053], { seed: 8, stream: 3, p }, (rng) =>
        f32([2053], new Float32Array(Uint32Array.from({ length: 2053 }, () => rng.u32() & 0x807fffff).buffer)),
      ),
    ),
    dropout('offset 12345', [5, 11], { seed: 2, stream: 7, offset: 12_345, p: 0.25 }),
    dropout('counter crosses 2^32', [19], { seed: 5, stream: 1, offset: 2 ** 32 - 7, p: 0.5 }),
    dropout('largest seed and stream, offset 2^40 + 5', [33], { seed: 2 ** 32 - 1, stream: 2 ** 32 - 1, offset: 2 ** 40 + 5, p: 0.7 }),
    dropout(`large [${LARGE}] p 0.05, offset 3`, [LARGE], { seed: 21, stream: 4, offset: 3, p: 0.05 }, undefined, true),
    dropoutRateCase(0.05),
    dropoutRateCase(0.5),
    rejectDropout('p = 1', 'INVALID_OPTION', { seed: 1, stream: 0, p: 1 }),
    rejectDropout('a negative p', 'INVALID_OPTION', { seed: 1, stream: 0, p: -0.1 }),
    rejectDropout('a NaN p', 'INVALID_OPTION', { seed: 1, stream: 0, p: NaN }),
    rejectDropout('a missing p', 'INVALID_OPTION', { seed: 1, stream: 0 } as DropoutOptions),
    rejectDropout('a negative seed', 'INVALID_OPTION', { seed: -1, stream: 0, p: 0.1 }),
    rejectDropout('a stream of 2^32', 'INVALID_OPTION', { seed: 1, stream: 2 ** 32, p: 0.1 }),
    rejectDropout('a fractional offset', 'INVALID_OPTION', { seed: 1, stream: 0, offset: 0.5, p: 0.1 }),
    rejectDropout('an i32 input', 'DTYPE_MISMATCH', { seed: 1, stream: 0, p: 0.1 }, 'i32'),
  ];
}

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
    ...dropoutCases(),
  ];
}
