import { bytesPerElement, permuteGeometry, reshapeGeometry, type DeviceTensor } from '@lorafuse/core';
import type { WasmContext } from '../context.js';
import { parallelRange, UNIT_COST } from './parallel-range.js';

/** Parts of a copy are whole multiples of this many bytes (a cache line), which keeps the threads' writes apart for a 64-byte-aligned target. */
const LINE = 64;
/** Bytes of an f32: copy costs are per float. */
const F32_BYTES = 4;

/** {@link Kernels.reshape}: a copy under the new shape. */
export function reshape(ctx: WasmContext, x: DeviceTensor, shape: readonly number[]): DeviceTensor {
  const to = reshapeGeometry(x, shape);
  const px = ctx.address(x);
  const out = ctx.output(to, x.dtype);
  const bytes = x.size * bytesPerElement(x.dtype);
  parallelRange(ctx, 'copyBytes', bytes, UNIT_COST.copy / F32_BYTES, LINE, (i, j) => [out.address + i, px + i, j - i]);
  return out.handle;
}

/** {@link Kernels.permute}: the module walks the result with an odometer. */
export function permute(ctx: WasmContext, x: DeviceTensor, axes: readonly number[]): DeviceTensor {
  const { shape, strides } = permuteGeometry(x, axes);
  const px = ctx.address(x);
  const out = ctx.output(shape, x.dtype);
  const rank = shape.length;
  ctx.withScratch(rank * 12, (meta) => {
    const words = new Uint32Array(ctx.exports.memory.buffer, meta, rank * 2);
    words.set(shape, 0);
    words.set(strides, rank);
    ctx.exports.permute(px, out.address, bytesPerElement(x.dtype), x.size, rank, meta);
  });
  return out.handle;
}
