import { shapeSize, sliceGeometry, type DeviceTensor } from '@lorafuse/core';
import { groupsFor, type KernelContext } from './context.js';
import { ELEMENT_BYTES, elementWordsShader } from './element-words.js';
import { cachedShader } from './wgsl.js';

// Output element o is element `offset + o % size` of block `o / size` of x.
const sliceShader = cachedShader((elementBytes: 1 | 2 | 4): string =>
  elementWordsShader(
    elementBytes,
    ['x'],
    'inner: u32, offset: u32, size: u32',
    (element) => `  let s = (o / p.size) * p.inner + p.offset + o % p.size;
  return ${element('x')};`,
  ),
);

/** {@link Kernels.slice}, any dtype, bit-exact. */
export function slice(ctx: KernelContext, x: DeviceTensor, axis: number, start: number, length: number): DeviceTensor {
  const g = sliceGeometry(x, axis, start, length);
  const source = ctx.buffer(x);
  const [out, target] = ctx.output(g.shape, x.dtype);
  const size = shapeSize(g.shape);
  if (size === 0) return out;
  const elementBytes = ELEMENT_BYTES[x.dtype];
  ctx.run(sliceShader(elementBytes), [source, target], [size, g.inner, g.offset, g.size], groupsFor(Math.ceil(size / (4 / elementBytes))));
  return out;
}
