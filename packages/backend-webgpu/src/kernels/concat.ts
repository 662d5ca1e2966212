import { concatGeometry, shapeSize, type DeviceTensor } from '@lorafuse/core';
import { groupsFor, type KernelContext } from './context.js';
import { MAIN_1D, cachedShader } from './wgsl.js';

const ELEMENT_BYTES = { f32: 4, i32: 4, f16: 2, bf16: 2, u8: 1 } as const;

// One thread per output u32 word, assembling 1, 2 or 4 elements from either
// input, so that sub-word dtypes are written without races.
const concatShader = cachedShader((elementBytes: 1 | 2 | 4): string => {
  const perWord = 4 / elementBytes;
  const bits = elementBytes * 8;
  const mask = (2 ** bits - 1).toString();
  const element = (buffer: string) => (elementBytes === 4 ? `${buffer}[s]` : `(${buffer}[s / ${perWord}u] >> ((s % ${perWord}u) * ${bits}u)) & ${mask}u`);
  return `@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> b: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;
struct P { n: u32, innerA: u32, innerB: u32, pad: u32 }
@group(0) @binding(3) var<uniform> p: P;
fn value(o: u32) -> u32 {
  let block = p.innerA + p.innerB;
  let outer = o / block;
  let r = o % block;
  if (r < p.innerA) {
    let s = outer * p.innerA + r;
    return ${element('a')};
  }
  let s = outer * p.innerB + r - p.innerA;
  return ${element('b')};
}
${MAIN_1D}
  if (i * ${perWord}u >= p.n) { return; }
  var w = 0u;
  for (var j = 0u; j < ${perWord}u; j = j + 1u) {
    let o = i * ${perWord}u + j;
    if (o < p.n) { w = w | (value(o) << (j * ${bits}u)); }
  }
  y[i] = w;
}`;
});

/** {@link Kernels.concat}, any dtype, bit-exact. */
export function concat(ctx: KernelContext, a: DeviceTensor, b: DeviceTensor, axis: number): DeviceTensor {
  const g = concatGeometry(a, b, axis);
  const [bufferA, bufferB] = [ctx.buffer(a), ctx.buffer(b)];
  const [out, target] = ctx.output(g.shape, a.dtype);
  const size = shapeSize(g.shape);
  if (size === 0) return out;
  const elementBytes = ELEMENT_BYTES[a.dtype];
  ctx.run(concatShader(elementBytes), [bufferA, bufferB, target], [size, g.innerA, g.innerB, 0], groupsFor(Math.ceil(size / (4 / elementBytes))));
  return out;
}
