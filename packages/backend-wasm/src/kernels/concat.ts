import { bytesPerElement, concatGeometry, type DeviceTensor } from '@lorafuse/core';
import type { WasmContext } from '../context.js';

/** {@link Kernels.concat}: a pure data move, done with `copyWithin` on the arena's bytes. */
export function concat(ctx: WasmContext, a: DeviceTensor, b: DeviceTensor, axis: number): DeviceTensor {
  const { shape, outer, innerA, innerB } = concatGeometry(a, b, axis);
  const pa = ctx.address(a);
  const pb = ctx.address(b);
  const out = ctx.output(shape, a.dtype);
  const e = bytesPerElement(a.dtype);
  const [bytesA, bytesB] = [innerA * e, innerB * e];
  // The view is taken after the allocation, which may have grown the memory.
  const bytes = new Uint8Array(ctx.exports.memory.buffer);
  for (let o = 0; o < outer; o++) {
    const at = out.address + o * (bytesA + bytesB);
    bytes.copyWithin(at, pa + o * bytesA, pa + (o + 1) * bytesA);
    bytes.copyWithin(at + bytesA, pb + o * bytesB, pb + (o + 1) * bytesB);
  }
  return out.handle;
}
