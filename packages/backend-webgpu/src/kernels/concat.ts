import { concatGeometry, shapeSize, type DeviceTensor } from '@lorafuse/core';
import { groupsFor, type KernelContext } from './context.js';
import { ELEMENT_BYTES, elementWordsShader } from './element-words.js';
import { cachedShader } from './wgsl.js';

// Output element o takes its bits from a or b, block by block.
const concatShader = cachedShader((elementBytes: 1 | 2 | 4): string =>
  elementWordsShader(
    elementBytes,
    ['a', 'b'],
    'innerA: u32, innerB: u32, pad: u32',
    (element) => `  let block = p.innerA + p.innerB;
  let outer = o / block;
  let r = o % block;
  if (r < p.innerA) {
    let s = outer * p.innerA + r;
    return ${element('a')};
  }
  let s = outer * p.innerB + r - p.innerA;
  return ${element('b')};`,
  ),
);

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
