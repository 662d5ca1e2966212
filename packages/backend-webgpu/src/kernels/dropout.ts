import { dropoutGeometry, type DeviceTensor, type DropoutOptions } from '@lorafuse/core';
import { f32, groupsFor, type KernelContext } from './context.js';
import { PHILOX, counterWords } from './random.js';
import { MAIN_1D } from './wgsl.js';

// Inverted dropout on the bits of f32 elements. The mask is the top 24 bits
// of core's Philox word compared with the integer threshold ceil(p·2²⁴);
// a kept element is x·scale rounded once, a dropped one +0.
//
// A GPU may flush subnormal operands to zero, so a zero or subnormal x
// (exponent field 0; scale ≥ 1) is multiplied on integers: with
// x = m·2⁻¹⁴⁹ and scale = ms·2^(es−23), the product is m·ms·2^(es−23)
// units of 2⁻¹⁴⁹. Below 2²⁴ units the bits of an f32 are its count of
// units, so rounding the count to an integer (ties to even) is rounding to
// f32. A larger product is normal: x·2⁶⁴ and the result scaled back by
// 2⁻⁶⁴ are exact moves of the exponent bits around one hardware product.
const DROPOUT = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
struct P { n: u32, seed: u32, stream: u32, offLo: u32, offHi: u32, threshold: u32, scale: f32, pad: u32 }
@group(0) @binding(2) var<uniform> p: P;
${PHILOX}
fn scaleTiny(b: u32) -> u32 {
  let sign = b & 0x80000000u;
  let m = b & 0x7fffffu;
  if (m == 0u) { return b; }
  let sb = bitcast<u32>(p.scale);
  let ms = (sb & 0x7fffffu) | 0x800000u;
  let es = (sb >> 23u) - 127u;
  if (es < 23u) {
    let hi = mulHi(m, ms);
    let lo = m * ms;
    let shift = 23u - es;
    let q = (lo >> shift) | (hi << (32u - shift));
    if ((hi >> shift) == 0u && q < 0x1000000u) {
      let rem = lo & ((1u << shift) - 1u);
      let half = 1u << (shift - 1u);
      return sign | (q + select(0u, 1u, rem > half || (rem == half && (q & 1u) == 1u)));
    }
  }
  let up = bitcast<f32>(bitcast<u32>(f32(m)) - (85u << 23u));
  return sign | (bitcast<u32>(up * p.scale) - (64u << 23u));
}
${MAIN_1D}
  if (i >= p.n) { return; }
  let lo = p.offLo + i;
  let word = philox(lo, p.offHi + select(0u, 1u, lo < i));
  let b = x[i];
  var out = 0u;
  if ((word >> 8u) >= p.threshold) {
    if ((b & 0x7f800000u) == 0u) {
      out = scaleTiny(b);
    } else {
      out = bitcast<u32>(bitcast<f32>(b) * p.scale);
    }
  }
  y[i] = out;
}`;

/** {@link Kernels.dropout}: bit-exact with the reference. */
export function dropout(ctx: KernelContext, x: DeviceTensor, options: DropoutOptions): DeviceTensor {
  const g = dropoutGeometry(x, options);
  const source = ctx.buffer(x);
  const [out, y] = ctx.output(g.shape, 'f32');
  ctx.run(DROPOUT, [source, y], [g.size, g.seed, g.stream, ...counterWords(g.offset), g.threshold, f32(g.scale)], groupsFor(g.size));
  return out;
}
