import { normalGeometry, randomGeometry, type DeviceTensor, type NormalOptions, type RandomOptions, type Shape } from '@lorafuse/core';
import { f32, groupsFor, type KernelContext } from './context.js';
import { MAIN_1D } from './wgsl.js';

/**
 * Philox4x32-10 on u32 arithmetic, word 0 only, keyed by `p.seed` and
 * `p.stream`, and the uniform of core's stream.
 */
export const PHILOX = /* wgsl */ `
fn mulHi(a: u32, b: u32) -> u32 {
  let aLo = a & 0xffffu;
  let aHi = a >> 16u;
  let bLo = b & 0xffffu;
  let bHi = b >> 16u;
  let cross1 = aLo * bHi;
  let cross2 = aHi * bLo;
  let carry = (((aLo * bLo) >> 16u) + (cross1 & 0xffffu) + (cross2 & 0xffffu)) >> 16u;
  return aHi * bHi + (cross1 >> 16u) + (cross2 >> 16u) + carry;
}
fn philox(lo: u32, hi: u32) -> u32 {
  var c0 = lo;
  var c1 = hi;
  var c2 = 0u;
  var c3 = 0u;
  var k0 = p.seed;
  var k1 = p.stream;
  for (var round = 0u; round < 10u; round = round + 1u) {
    if (round > 0u) {
      k0 = k0 + 0x9e3779b9u;
      k1 = k1 + 0xbb67ae85u;
    }
    let hi0 = mulHi(0xd2511f53u, c0);
    let lo0 = 0xd2511f53u * c0;
    let hi1 = mulHi(0xcd9e8d57u, c2);
    let lo1 = 0xcd9e8d57u * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return c0;
}
fn uniformAt(lo: u32, hi: u32) -> f32 { return f32(philox(lo, hi) >> 8u) * 5.9604644775390625e-8; }
`;

// Box–Muller needs ln, cos and sin to about 1e-7; the WGSL builtins only
// promise ~1e-3 for sin/cos, so these are Cephes' single-precision
// polynomials after exact range reduction (θ = 2π·u₂ is reduced on u₂, a
// multiple of 2⁻²⁴, before multiplying by 2π).
const MATH = /* wgsl */ `
fn lnPositive(v: f32) -> f32 {
  let bits = bitcast<u32>(v);
  var e = f32(i32((bits >> 23u) & 0xffu) - 126);
  var m = bitcast<f32>((bits & 0x7fffffu) | 0x3f000000u);
  var x = 0.0;
  if (m < 0.70710677) { e = e - 1.0; x = m + m - 1.0; } else { x = m - 1.0; }
  let z = x * x;
  var y = 7.0376836292e-2;
  y = y * x - 1.1514610310e-1;
  y = y * x + 1.1676998740e-1;
  y = y * x - 1.2420140846e-1;
  y = y * x + 1.4249322787e-1;
  y = y * x - 1.6668057665e-1;
  y = y * x + 2.0000714765e-1;
  y = y * x - 2.4999993993e-1;
  y = y * x + 3.3333331174e-1;
  y = y * x * z;
  y = y - 2.12194440e-4 * e;
  y = y - 0.5 * z;
  return x + y + 0.693359375 * e;
}
fn sinSmall(x: f32) -> f32 {
  let z = x * x;
  return ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * x + x;
}
fn cosSmall(x: f32) -> f32 {
  let z = x * x;
  return ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
}
// cos(2πu) (odd = false) or sin(2πu) (odd = true) for u in [0, 1).
fn turn(u: f32, odd: bool) -> f32 {
  let q = floor(u * 4.0 + 0.5);
  let t = (u - q * 0.25) * 6.283185307179586;
  let quadrant = u32(q) % 4u;
  let c = cosSmall(t);
  let s = sinSmall(t);
  var cosine = c;
  var sine = s;
  if (quadrant == 1u) { cosine = -s; sine = c; }
  if (quadrant == 2u) { cosine = -c; sine = -s; }
  if (quadrant == 3u) { cosine = s; sine = -c; }
  return select(cosine, sine, odd);
}
`;

const BINDINGS = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
struct P { n: u32, seed: u32, stream: u32, offLo: u32, offHi: u32, mean: f32, spread: f32, pad: u32 }
@group(0) @binding(1) var<uniform> p: P;
`;

const UNIFORM = /* wgsl */ `${BINDINGS}${PHILOX}${MAIN_1D}
  if (i >= p.n) { return; }
  let lo = p.offLo + i;
  y[i] = uniformAt(lo, p.offHi + select(0u, 1u, lo < i));
}`;

const NORMAL = /* wgsl */ `${BINDINGS}${PHILOX}${MATH}${MAIN_1D}
  if (i >= p.n) { return; }
  let lo = p.offLo + i;
  let hi = p.offHi + select(0u, 1u, lo < i);
  let even = lo & 0xfffffffeu;
  let u1 = uniformAt(even, hi);
  let u2 = uniformAt(even + 1u, hi);
  let rho = sqrt(-2.0 * lnPositive(1.0 - u1));
  y[i] = p.mean + p.spread * (rho * turn(u2, (lo & 1u) == 1u));
}`;

/** A counter (a safe integer) as its low and high u32 words, the uniforms `offLo` and `offHi`. */
export const counterWords = (counter: number): [number, number] => [counter % 2 ** 32, Math.floor(counter / 2 ** 32)];

function stream(
  ctx: KernelContext,
  code: string,
  g: { size: number; shape: Shape; seed: number; stream: number; offset: number },
  mean = 0,
  std = 1,
): DeviceTensor {
  const [out, y] = ctx.output(g.shape, 'f32');
  ctx.run(code, [y], [g.size, g.seed, g.stream, ...counterWords(g.offset), f32(mean), f32(std)], groupsFor(g.size));
  return out;
}

/** {@link Kernels.randomUniform}: bit-exact with the reference. */
export function randomUniform(ctx: KernelContext, shape: Shape, options: RandomOptions): DeviceTensor {
  return stream(ctx, UNIFORM, randomGeometry(shape, options));
}

/** {@link Kernels.randomNormal}. */
export function randomNormal(ctx: KernelContext, shape: Shape, options: NormalOptions): DeviceTensor {
  const g = normalGeometry(shape, options);
  return stream(ctx, NORMAL, g, g.mean, g.std);
}
