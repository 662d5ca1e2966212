import type { DeviceTensor } from '../../backend/device-tensor.js';
import type { Kernels } from '../../backend/kernels.js';
import type { ConformanceCase } from '../case.js';
import { kernelCase, rejectionCase } from '../case.js';
import { Tensor, shapeSize, type Shape } from '../../tensor/index.js';
import type { InputRandom } from '../input-random.js';
import { f32, uniformF32, withValues } from './host.js';

const SPECIALS: readonly (readonly [number, number])[] = [
  [0, NaN],
  [1, Infinity],
  [2, -Infinity],
  [3, -0],
];

const LARGE = 1_048_583;

function binaryCases(kernel: 'add' | 'mul'): ConformanceCase[] {
  const c = (name: string, aShape: Shape, bShape: Shape, special = false, large = false) =>
    kernelCase({
      kernel,
      name,
      large,
      inputs: (rng) => {
        const a = uniformF32(rng, aShape, -3, 3);
        const b = uniformF32(rng, bShape, -3, 3);
        return special
          ? [
              withValues(a, SPECIALS),
              withValues(b, [
                [1, -Infinity],
                [4, NaN],
              ]),
            ]
          : [a, b];
      },
      call: (k, [a, b]) => k[kernel](a, b),
    });
  return [
    c('same shape [7, 13]', [7, 13], [7, 13]),
    c('suffix [5, 3, 11] with [11]', [5, 3, 11], [11]),
    c('suffix [5, 3, 11] with [3, 11]', [5, 3, 11], [3, 11]),
    c('scalar operand', [4, 5], []),
    c('one element', [1], [1]),
    c('empty [4, 0] with [0]', [4, 0], [0]),
    c('NaN and infinities propagate', [3, 7], [3, 7], true),
    // Sizes that are multiples of 4: backends may take four elements per thread there.
    c('same shape [8, 12]', [8, 12], [8, 12]),
    c('NaN and infinities propagate, [4, 8]', [4, 8], [4, 8], true),
    c(`large [${LARGE}]`, [LARGE], [LARGE], false, true),
    rejectionCase({
      kernel,
      name: 'an operand that is not a suffix',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [3, 4]), uniformF32(rng, [3])],
      call: (k, [a, b]) => k[kernel](a, b),
    }),
  ];
}

function unaryCases(kernel: 'silu' | 'scale' | 'abs', call: (k: Kernels, x: DeviceTensor) => DeviceTensor): ConformanceCase[] {
  const c = (name: string, shape: Shape, low: number, high: number, large = false) =>
    kernelCase({ kernel, name, large, inputs: (rng) => [uniformF32(rng, shape, low, high)], call: (k, [x]) => call(k, x) });
  return [
    c('odd [9, 17]', [9, 17], -8, 8),
    c('one element', [1], -8, 8),
    c('empty', [0], -8, 8),
    c('wide range', [257], -90, 90),
    c('a multiple of 4, [6, 20]', [6, 20], -8, 8),
    ...[11, 12].map((n) =>
      kernelCase({
        kernel,
        name: n === 11 ? 'NaN propagates' : 'NaN propagates, [12]',
        inputs: (rng) => [
          withValues(uniformF32(rng, [n]), [
            [0, NaN],
            [5, NaN],
            [6, Infinity],
          ]),
        ],
        call: (k, [x]) => call(k, x),
      }),
    ),
    c(`large [${LARGE}]`, [LARGE], -8, 8, true),
  ];
}

function castCase(name: string, from: 'f32' | 'f16' | 'bf16', to: 'f32' | 'f16' | 'bf16', size: number, large = false): ConformanceCase {
  return kernelCase({
    kernel: 'cast',
    name,
    large,
    inputs: (rng) => {
      // Raw bit patterns cover every class (NaN payloads, subnormals, infinities,
      // overflow, rounding ties); a share of ordinary values keeps the common path honest.
      const bits = rng.bitPatterns(size);
      const ordinary = rng.floats(size, -70000, 70000);
      const values = bits.map((v, i) => (i % 2 ? v : ordinary[i]));
      const t = new Tensor('f32', [size], values);
      return [from === 'f32' ? t : t.castFloat(from)];
    },
    call: (k, [x]) => k.cast(x, to),
  });
}

/** Elementwise float ties of f32 → f16/bf16 that exercise round-to-nearest-even directly. */
function castTiesCase(to: 'f16' | 'bf16'): ConformanceCase {
  return kernelCase({
    kernel: 'cast',
    name: `f32 -> ${to} rounding ties and limits`,
    inputs: () => {
      const step = to === 'f16' ? 2 ** -10 : 2 ** -7;
      const values = [
        1 + step / 2,
        1 + (3 * step) / 2,
        -(1 + step / 2),
        65504,
        65520,
        65519.99,
        2 ** -24,
        2 ** -25,
        2 ** -25 * 1.5,
        3e38,
        -0,
        0,
        2 ** -149,
        -(2 ** -140),
      ];
      return [f32([values.length], Float32Array.from(values))];
    },
    call: (k, [x]) => k.cast(x, to),
  });
}

/** `√x` of every element, correctly rounded: the float64 root of an f32 rounds to the f32 root. */
const sqrtF64 = ([x]: readonly Tensor[]): Tensor[] => [
  f32(
    x.shape,
    Float32Array.from(x.data as Float32Array, (v) => Math.fround(Math.sqrt(v))),
  ),
];

function sqrtCases(): ConformanceCase[] {
  const c = (name: string, shape: Shape, values: (rng: InputRandom, n: number) => Float32Array, large = false) =>
    kernelCase({ kernel: 'sqrt', name, large, inputs: (rng) => [f32(shape, values(rng, shapeSize(shape)))], call: (k, [x]) => k.sqrt(x), expected: sqrtF64 });
  const positive = (rng: InputRandom, n: number) => rng.floats(n, 0, 100);
  return [
    c('odd [9, 17]', [9, 17], positive),
    c('one element', [1], positive),
    c('empty', [0, 5], positive),
    c('a multiple of 4, [6, 20]', [6, 20], positive),
    // Every class: NaN payloads, negatives, infinities, signed zeros, subnormals, the whole exponent range.
    c('raw bit patterns [4099]', [4099], (rng, n) => rng.bitPatterns(n)),
    c('subnormals and their negatives [1027]', [1027], (rng, n) => new Float32Array(Uint32Array.from({ length: n }, () => rng.u32() & 0x807fffff).buffer)),
    kernelCase({
      kernel: 'sqrt',
      name: 'signed zeros, infinities, NaN and negatives',
      inputs: () => [f32([10], Float32Array.from([-0, 0, Infinity, -Infinity, NaN, -1, -(2 ** -149), 2 ** -149, 3.4028234663852886e38, 2]))],
      call: (k, [x]) => k.sqrt(x),
      expected: sqrtF64,
    }),
    c(`large [${LARGE}]`, [LARGE], (rng, n) => rng.floats(n, 0, 1e6), true),
    rejectionCase({
      kernel: 'sqrt',
      name: 'an i32 input',
      code: 'DTYPE_MISMATCH',
      inputs: () => [new Tensor('i32', [3], Int32Array.of(1, 4, 9))],
      call: (k, [x]) => k.sqrt(x),
    }),
  ];
}

/**
 * GELU's tanh approximation and its derivative in float64 in the form
 * PyTorch writes it, `½·x·(1 + tanh(u))`: an expectation independent of the
 * reference's `x·σ(2u)`.
 */
function geluTanhForm(x: number): [number, number] {
  const c = Math.sqrt(2 / Math.PI);
  const t = Math.tanh(c * (x + 0.044715 * x ** 3));
  return [0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)];
}

/** Float64 expectations of geglu and its backward from {@link geluTanhForm}. */
function gegluF64(backward: boolean) {
  return (inputs: readonly Tensor[]): Tensor[] => {
    const [gate, up, dy] = inputs.map((t) => t.data as Float32Array);
    const y = Float32Array.from(gate, (g, i) => geluTanhForm(g)[0] * up[i]);
    if (!backward) return [f32(inputs[0].shape, y)];
    const dGate = Float32Array.from(gate, (g, i) => dy[i] * up[i] * geluTanhForm(g)[1]);
    const dUp = Float32Array.from(gate, (g, i) => dy[i] * geluTanhForm(g)[0]);
    return [f32(inputs[0].shape, dGate), f32(inputs[0].shape, dUp)];
  };
}

function gegluCases(): ConformanceCase[] {
  const c = (kernel: 'geglu' | 'gegluBackward', name: string, shape: Shape, range = 6, nan = false, large = false) =>
    kernelCase({
      kernel,
      name,
      large,
      inputs: (rng) => {
        const gate = uniformF32(rng, shape, -range, range);
        const rest = [uniformF32(rng, shape, -2, 2), ...(kernel === 'gegluBackward' ? [uniformF32(rng, shape, -1, 1)] : [])];
        return [nan ? withValues(gate, [[1, NaN]]) : gate, ...rest];
      },
      call: (k, [gate, up, dy]) => (kernel === 'geglu' ? k.geglu(gate, up) : k.gegluBackward(gate, up, dy)),
      expected: gegluF64(kernel === 'gegluBackward'),
    });
  return (['geglu', 'gegluBackward'] as const).flatMap((kernel) => [
    c(kernel, 'odd [13, 7]', [13, 7]),
    c(kernel, 'one element', [1]),
    c(kernel, 'empty', [0, 4]),
    // GELU's tails: ≈ x past +4, ≈ 0 below −4 (where ½·(1 + tanh) cancels in float32).
    c(kernel, 'wide range [257]', [257], 30),
    c(kernel, 'near zero [5, 11]', [5, 11], 1e-3),
    c(kernel, 'a multiple of 4, [6, 20]', [6, 20]),
    c(kernel, 'NaN propagates', [9], 6, true),
    c(kernel, 'NaN propagates, [12]', [12], 6, true),
    c(kernel, `large [${LARGE}]`, [LARGE], 8, false, true),
  ]);
}

/** `cap · tanh(x / cap)` of every element in float64. */
const softcapF64 =
  (cap: number) =>
  ([x]: readonly Tensor[]): Tensor[] => [
    f32(
      x.shape,
      Float32Array.from(x.data as Float32Array, (v) => cap * Math.tanh(v / cap)),
    ),
  ];

function softcapCases(): ConformanceCase[] {
  const forward = (name: string, shape: Shape, cap: number, range: number, special = false, large = false) =>
    kernelCase({
      kernel: 'softcap',
      name,
      large,
      inputs: (rng) => {
        const x = uniformF32(rng, shape, -range, range);
        return [special ? withValues(x, SPECIALS) : x];
      },
      call: (k, [x]) => k.softcap(x, cap),
      expected: softcapF64(cap),
    });
  const backward = (name: string, shape: Shape, cap: number, large = false) =>
    kernelCase({
      kernel: 'softcapBackward',
      name,
      large,
      // y is a forward output: inside (−cap, cap), with values at the edges where 1 − (y/cap)² vanishes.
      inputs: (rng) => [withValues(uniformF32(rng, shape, -cap, cap), [[0, cap]]), uniformF32(rng, shape, -2, 2)],
      call: (k, [y, dy]) => k.softcapBackward(y, dy, cap),
    });
  return [
    forward('odd [9, 17], cap 30', [9, 17], 30, 90),
    forward('one element', [1], 30, 90),
    forward('empty', [0, 3], 30, 90),
    // Small |x / cap|: tanh's relative accuracy near 0 (1 − 2/(e^2x + 1) would lose it).
    forward('near zero, cap 50', [7, 13], 50, 0.05),
    forward('saturating, cap 5', [257], 5, 400),
    forward('a multiple of 4, [6, 20]', [6, 20], 15, 40),
    forward('NaN and infinities', [3, 7], 30, 90, true),
    forward('NaN and infinities, [4, 8]', [4, 8], 30, 90, true),
    forward(`large [${LARGE}], cap 30`, [LARGE], 30, 120, false, true),
    backward('odd [9, 17], cap 30', [9, 17], 30),
    backward('one element', [1], 30),
    backward('a multiple of 4, [6, 20]', [6, 20], 2.5),
    backward(`large [${LARGE}]`, [LARGE], 30, true),
    rejectionCase({
      kernel: 'softcap',
      name: 'a cap of 0',
      code: 'INVALID_OPTION',
      inputs: (rng) => [uniformF32(rng, [3])],
      call: (k, [x]) => k.softcap(x, 0),
    }),
    rejectionCase({
      kernel: 'softcapBackward',
      name: 'operands of different shapes',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [3, 4]), uniformF32(rng, [4, 3])],
      call: (k, [y, dy]) => k.softcapBackward(y, dy, 30),
    }),
  ];
}

/** Cases of the elementwise kernels. */
export function elementwiseCases(): ConformanceCase[] {
  const silu = unaryCases('silu', (k, x) => k.silu(x));
  const scale = unaryCases('scale', (k, x) => k.scale(x, -2.5));
  const abs = unaryCases('abs', (k, x) => k.abs(x));
  const pair = (kernel: 'siluBackward' | 'swiglu', name: string, shape: Shape, nan = false) =>
    kernelCase({
      kernel,
      name,
      inputs: (rng) => {
        const x = uniformF32(rng, shape, -9, 9);
        return [nan ? withValues(x, [[2, NaN]]) : x, uniformF32(rng, shape, -2, 2)];
      },
      call: (k, [a, b]) => (kernel === 'swiglu' ? k.swiglu(a, b) : k.siluBackward(a, b)),
    });
  const swigluBack = (name: string, shape: Shape, nan = false) =>
    kernelCase({
      kernel: 'swigluBackward',
      name,
      inputs: (rng) => {
        const gate = uniformF32(rng, shape, -9, 9);
        return [nan ? withValues(gate, [[1, NaN]]) : gate, uniformF32(rng, shape, -2, 2), uniformF32(rng, shape, -1, 1)];
      },
      call: (k, [gate, up, dy]) => k.swigluBackward(gate, up, dy),
    });
  return [
    ...binaryCases('add'),
    ...binaryCases('mul'),
    ...scale,
    kernelCase({
      kernel: 'scale',
      name: 'factor 0 keeps NaN',
      inputs: (rng) => [withValues(uniformF32(rng, [5]), [[2, NaN]])],
      call: (k, [x]) => k.scale(x, 0),
    }),
    rejectionCase({
      kernel: 'scale',
      name: 'a NaN factor',
      code: 'INVALID_OPTION',
      inputs: (rng) => [uniformF32(rng, [3])],
      call: (k, [x]) => k.scale(x, NaN),
    }),
    ...abs,
    ...sqrtCases(),
    kernelCase({
      kernel: 'abs',
      name: 'signed zeros, infinities and subnormals',
      inputs: () => [f32([8], Float32Array.from([-0, 0, -Infinity, Infinity, -(2 ** -149), 2 ** -140, -3.5, NaN]))],
      call: (k, [x]) => k.abs(x),
    }),
    castCase('f32 -> f16', 'f32', 'f16', 4099),
    castCase('f32 -> bf16', 'f32', 'bf16', 4099),
    castCase('f16 -> f32', 'f16', 'f32', 4099),
    castCase('bf16 -> f32', 'bf16', 'f32', 4099),
    castCase('f16 -> bf16', 'f16', 'bf16', 2053),
    castCase('bf16 -> f16', 'bf16', 'f16', 2053),
    castCase('f32 -> f32', 'f32', 'f32', 1031),
    castCase('empty', 'f32', 'bf16', 0),
    castTiesCase('f16'),
    castTiesCase('bf16'),
    castCase(`large f32 -> bf16 [${LARGE}]`, 'f32', 'bf16', LARGE, true),
    castCase(`large f32 -> f16 [${LARGE}]`, 'f32', 'f16', LARGE, true),
    ...silu,
    pair('siluBackward', 'odd [13, 7]', [13, 7]),
    pair('siluBackward', 'NaN propagates', [9], true),
    // Sizes that are multiples of 4 take the vec4 path where a backend has one; the NaN shares a vec4 with finite values.
    pair('siluBackward', 'a multiple of 4, [6, 20]', [6, 20]),
    pair('siluBackward', 'NaN propagates, [12]', [12], true),
    pair('swiglu', 'odd [13, 7]', [13, 7]),
    pair('swiglu', 'one element', [1]),
    pair('swiglu', 'NaN propagates', [9], true),
    pair('swiglu', 'a multiple of 4, [6, 20]', [6, 20]),
    pair('swiglu', 'NaN propagates, [12]', [12], true),
    swigluBack('odd [5, 3, 7]', [5, 3, 7]),
    swigluBack('NaN propagates', [9], true),
    swigluBack('a multiple of 4, [4, 6]', [4, 6]),
    swigluBack('NaN propagates, [12]', [12], true),
    swigluBack('empty', [0, 4]),
    ...gegluCases(),
    ...softcapCases(),
    rejectionCase({
      kernel: 'swiglu',
      name: 'operands of different shapes',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => [uniformF32(rng, [3, 4]), uniformF32(rng, [4, 3])],
      call: (k, [a, b]) => k.swiglu(a, b),
    }),
  ];
}
