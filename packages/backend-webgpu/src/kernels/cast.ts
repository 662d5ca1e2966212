import { castGeometry, type DeviceDType, type DeviceTensor } from '@lorafuse/core';
import { groupsFor, type KernelContext } from './context.js';
import { HALF_TO_F32, MAIN_1D, cachedShader, floatBitsLoader } from './wgsl.js';

/** f32 bits to f16 bits, round to nearest even, on integers only. */
const F32_TO_F16 = /* wgsl */ `
fn toF16(b: u32) -> u32 {
  let s = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return s | 0x7e00u; }
  if (a >= 0x477ff000u) { return s | 0x7c00u; }
  if (a >= 0x38800000u) { return s | ((a + 0xc8000fffu + ((a >> 13u) & 1u)) >> 13u); }
  let e = a >> 23u;
  if (e < 102u) { return s; }
  let mant = (a & 0x7fffffu) | 0x800000u;
  let shift = 126u - e;
  var q = mant >> shift;
  let rem = mant & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (q & 1u) == 1u)) { q = q + 1u; }
  return s | q;
}
fn toBf16(b: u32) -> u32 {
  if ((b & 0x7fffffffu) > 0x7f800000u) { return ((b >> 16u) & 0x8000u) | 0x7fc0u; }
  return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}
`;

// One thread per output u32 word: an f32, or two packed halves.
const castShader = cachedShader((from: DeviceDType, to: 'f32' | 'f16' | 'bf16'): string => {
  const narrow = to === 'f16' ? 'toF16' : 'toBf16';
  const body =
    to === 'f32'
      ? 'if (i < p.n) { y[i] = xBits(i); }'
      : `let e = 2u * i;
  if (e >= p.n) { return; }
  var w = ${narrow}(xBits(e));
  if (e + 1u < p.n) { w = w | (${narrow}(xBits(e + 1u)) << 16u); }
  y[i] = w;`;
  return `@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
struct P { n: u32 }
@group(0) @binding(2) var<uniform> p: P;
${HALF_TO_F32}${F32_TO_F16}${floatBitsLoader('x', from)}${MAIN_1D}
  ${body}
}`;
});

/** {@link Kernels.cast}: bit-exact conversions on the integer bit patterns. */
export function cast(ctx: KernelContext, x: DeviceTensor, dtype: 'f32' | 'f16' | 'bf16'): DeviceTensor {
  const g = castGeometry(x, dtype);
  const [out, target] = ctx.output(g.shape, dtype);
  const source = ctx.buffer(x);
  if (dtype === x.dtype) {
    ctx.copy(source, target, Math.ceil((g.size * (dtype === 'f32' ? 4 : 2)) / 4) * 4);
    return out;
  }
  ctx.run(castShader(x.dtype, dtype), [source, target], [g.size], groupsFor(dtype === 'f32' ? g.size : Math.ceil(g.size / 2)));
  return out;
}
