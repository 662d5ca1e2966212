import { bytesPerElement, sliceGeometry, type DeviceTensor } from '@lorafuse/core';
import type { WasmContext } from '../context.js';

/** {@link Kernels.slice}: a pure data move, done with `copyWithin` on the arena's bytes. */
export function slice(ctx: WasmContext, x: DeviceTensor, axis: number, start: number, length: number): DeviceTensor {
  const { shape, outer, inner, offset, size } = sliceGeometry(x, axis, start, length);
  const px = ctx.address(x);
  const out = ctx.output(shape, x.dtype);
  const e = bytesPerElement(x.dtype);
  // The view is taken after the allocation, which may have grown the memory.
  const bytes = new Uint8Array(ctx.exports.memory.buffer);
  for (let o = 0; o < outer; o++) {
    const from = px + (o * inner + offset) * e;
    bytes.copyWithin(out.address + o * size * e, from, from + size * e);
  }
  return out.handle;
}
