import { broadcastGeometry, elementwiseGeometry, scaleGeometry, type DeviceTensor, type SwigluGrads } from '@lorafuse/core';
import { f32, groupsFor, type KernelContext, type UniformValue } from './context.js';
import { MAIN_1D, cachedShader } from './wgsl.js';

// Elementwise f32 kernels. Inputs bind as x0, x1, ... and outputs as y0,
// y1, ...; `i` is the element, `p.n` the element count, `p.m` the size of a
// broadcast operand and `p.f` a scalar factor. Bodies written with plain
// arithmetic also run on vec4 elements (`vector`): a thread then handles four
// floats, which a CPU adapter loads for about the cost of one.

/**
 * σ(x) and 1 − σ(x) without overflow, both from e^(−|x|) ∈ (0, 1], and a
 * NaN test on the bits, for `T` (f32, or vec4f componentwise with
 * `B` = vec4<bool>): the same operations per float either way.
 */
const SIGMOID = /* wgsl */ `
fn sigmoid(x: T) -> T {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= T(0.0));
}
fn sigmoidComplement(x: T) -> T {
  let e = exp(-abs(x));
  return select(1.0 / (1.0 + e), e / (1.0 + e), x >= T(0.0));
}
fn nanAt(x: T) -> B { return (bitcast<U>(x) & U(0x7fffffffu)) > U(0x7f800000u); }
`;

const mapShader = cachedShader((inputs: number, outputs: number, body: string, vector: boolean, prelude: string): string => {
  const type = vector ? 'vec4f' : 'f32';
  const bindings = [
    ...Array.from({ length: inputs }, (_, j) => `@group(0) @binding(${j}) var<storage, read> x${j}: array<${type}>;`),
    ...Array.from({ length: outputs }, (_, j) => `@group(0) @binding(${inputs + j}) var<storage, read_write> y${j}: array<${type}>;`),
  ];
  return `${bindings.join('\n')}
alias T = ${type};
alias B = ${vector ? 'vec4<bool>' : 'bool'};
alias U = ${vector ? 'vec4u' : 'u32'};
struct P { n: u32, m: u32, f: f32, pad: u32 }
@group(0) @binding(${inputs + outputs}) var<uniform> p: P;
${SIGMOID}${prelude}${MAIN_1D}
  if (i >= p.n) { return; }
  ${body}
}`;
});

/** Options of {@link map}. */
export interface MapOptions {
  readonly outputs?: number;
  /** `p.m` and `p.f`. */
  readonly extra?: UniformValue[];
  /** Run on vec4 elements when the size allows: only for bodies of componentwise arithmetic on same-shape operands. */
  readonly vector?: boolean;
  /** WGSL functions of `T` the body calls, besides `sigmoid`, `sigmoidComplement` and `nanAt`. */
  readonly prelude?: string;
}

/**
 * Runs an elementwise `body` over `size` elements: inputs `x0…`, outputs
 * `y0…` (f32 of `shape`), the uniforms `p.n`, `p.m`, `p.f`. Returns the outputs.
 */
export function map(
  ctx: KernelContext,
  body: string,
  inputs: readonly DeviceTensor[],
  shape: readonly number[],
  size: number,
  options: MapOptions = {},
): DeviceTensor[] {
  const { outputs = 1, extra = [0, f32(0)], prelude = '' } = options;
  const vector = options.vector === true && size % 4 === 0;
  const elements = vector ? size / 4 : size;
  const sources = inputs.map((t) => ctx.buffer(t));
  const made = Array.from({ length: outputs }, () => ctx.output(shape, 'f32'));
  ctx.run(mapShader(inputs.length, outputs, body, vector, prelude), [...sources, ...made.map(([, b]) => b)], [elements, ...extra], groupsFor(elements));
  return made.map(([h]) => h);
}

/** {@link Kernels.add} and {@link Kernels.mul}: `b` repeats over the leading dimensions of `a`. */
export function broadcastBinary(ctx: KernelContext, kernel: 'add' | 'mul', a: DeviceTensor, b: DeviceTensor): DeviceTensor {
  const g = broadcastGeometry(kernel, a, b);
  const op = kernel === 'add' ? '+' : '*';
  // Same shapes (residuals, summed gradients) skip the modulo, which CPU adapters compute one lane at a time, and run on vec4.
  const same = g.bSize === g.size;
  return map(ctx, `y0[i] = x0[i] ${op} x1[${same ? 'i' : 'i % p.m'}];`, [a, b], g.shape, g.size, { extra: [g.bSize, f32(0)], vector: same })[0];
}

/** {@link Kernels.scale}. */
export function scale(ctx: KernelContext, x: DeviceTensor, factor: number): DeviceTensor {
  const g = scaleGeometry(x, factor);
  return map(ctx, 'y0[i] = p.f * x0[i];', [x], g.shape, g.size, { extra: [0, f32(factor)], vector: true })[0];
}

/** {@link Kernels.silu}. */
export function silu(ctx: KernelContext, x: DeviceTensor): DeviceTensor {
  const g = elementwiseGeometry('silu', x);
  return map(ctx, 'let x = x0[i]; y0[i] = select(x * sigmoid(x), x, nanAt(x));', [x], g.shape, g.size, { vector: true })[0];
}

/** {@link Kernels.siluBackward}. */
export function siluBackward(ctx: KernelContext, x: DeviceTensor, dy: DeviceTensor): DeviceTensor {
  const g = elementwiseGeometry('siluBackward', x, dy);
  return map(ctx, 'let x = x0[i]; y0[i] = select(x1[i] * sigmoid(x) * (1.0 + x * sigmoidComplement(x)), x, nanAt(x));', [x, dy], g.shape, g.size, {
    vector: true,
  })[0];
}

/** {@link Kernels.swiglu}. */
export function swiglu(ctx: KernelContext, gate: DeviceTensor, up: DeviceTensor): DeviceTensor {
  const g = elementwiseGeometry('swiglu', gate, up);
  return map(ctx, 'let x = x0[i]; y0[i] = select(x * sigmoid(x) * x1[i], x, nanAt(x));', [gate, up], g.shape, g.size, { vector: true })[0];
}

/** {@link Kernels.swigluBackward}. */
export function swigluBackward(ctx: KernelContext, gate: DeviceTensor, up: DeviceTensor, dy: DeviceTensor): SwigluGrads {
  const g = elementwiseGeometry('swigluBackward', gate, up, dy);
  const body = `let x = x0[i]; let s = sigmoid(x);
  y0[i] = select(x2[i] * x1[i] * s * (1.0 + x * sigmoidComplement(x)), x, nanAt(x));
  y1[i] = select(x2[i] * x * s, x, nanAt(x));`;
  const [dGate, dUp] = map(ctx, body, [gate, up, dy], g.shape, g.size, { outputs: 2, vector: true });
  return { dGate, dUp };
}

// Kernels on the bits of f32 elements (x and y bound as u32), exact for every
// value: NaN payloads, signed zeros and subnormals included.
const ON_BITS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
struct P { n: u32 }
@group(0) @binding(2) var<uniform> p: P;
`;

const ABS = /* wgsl */ `${ON_BITS}${MAIN_1D}
  if (i < p.n) { y[i] = x[i] & 0x7fffffffu; }
}`;

// √x correctly rounded: WGSL lets the builtin sqrt be off by ulps and a GPU
// flush subnormals, so the root is taken two bits at a time on integers.
// With x = m·2^(e−150) (m normalised to 24 bits) written as M·2^F,
// M = m·2²³ or m·2²⁴ so that F is even, M ∈ [2⁴⁶, 2⁴⁸) and its integer
// root q has 24 bits; √M rounds up when the remainder M − q² exceeds q (a
// tie is impossible). Negative numbers give NaN; −0, +Inf and NaN themselves.
const SQRT = /* wgsl */ `${ON_BITS}
fn sqrtBits(b: u32) -> u32 {
  let magnitude = b & 0x7fffffffu;
  if (magnitude == 0u || b == 0x7f800000u || magnitude > 0x7f800000u) { return b; }
  if (b > 0x7fffffffu) { return 0x7fc00000u; }
  var e = i32(b >> 23u);
  var m = b & 0x7fffffu;
  if (e == 0) {
    let s = countLeadingZeros(m) - 8u;
    m = m << s;
    e = 1 - i32(s);
  } else {
    m = m | 0x800000u;
  }
  let sh = select(24u, 23u, (e & 1) == 1);
  let halfF = (e - 150 - i32(sh)) / 2;
  // M as two words: bits 32..47 and 0..31.
  let hi = m >> (32u - sh);
  let lo = m << sh;
  var q = 0u;
  var r = 0u;
  for (var k = 0u; k < 24u; k = k + 1u) {
    let j = 46u - 2u * k;
    var pair = 0u;
    if (j >= 32u) { pair = (hi >> (j - 32u)) & 3u; } else { pair = (lo >> j) & 3u; }
    r = (r << 2u) | pair;
    let t = (q << 2u) | 1u;
    if (r >= t) {
      r = r - t;
      q = (q << 1u) | 1u;
    } else {
      q = q << 1u;
    }
  }
  return (u32(halfF + 150) << 23u) + (q - 0x800000u) + select(0u, 1u, r > q);
}
${MAIN_1D}
  if (i < p.n) { y[i] = sqrtBits(x[i]); }
}`;

/** {@link Kernels.abs} and {@link Kernels.sqrt}, bit-exact. */
export function onBits(ctx: KernelContext, kernel: 'abs' | 'sqrt', x: DeviceTensor): DeviceTensor {
  const g = elementwiseGeometry(kernel, x);
  const source = ctx.buffer(x);
  const [out, y] = ctx.output(g.shape, 'f32');
  ctx.run(kernel === 'abs' ? ABS : SQRT, [source, y], [g.size], groupsFor(g.size));
  return out;
}
