import { bytesPerElement, permuteGeometry, reshapeGeometry, type DeviceTensor } from '@lorafuse/core';
import type { WasmContext } from '../context.js';
import { splitRange } from '../threads/split.js';
import { UNIT_COST } from './parallel-range.js';

/** {@link Kernels.reshape}: a view, the same bytes under the new shape. */
export function reshape(ctx: WasmContext, x: DeviceTensor, shape: readonly number[]): DeviceTensor {
  return ctx.view(x, reshapeGeometry(x, shape));
}

/** {@link Kernels.permute}: the module walks the result with an odometer, a contiguous row at a time where the last axis stays last. */
export function permute(ctx: WasmContext, x: DeviceTensor, axes: readonly number[]): DeviceTensor {
  const { shape, strides } = permuteGeometry(x, axes);
  const px = ctx.address(x);
  const out = ctx.output(shape, x.dtype);
  const rank = shape.length;
  const elementBytes = bytesPerElement(x.dtype);
  // Parts start on whole runs, as the module's odometer expects.
  const run = rank > 0 && strides[rank - 1] === 1 ? shape[rank - 1] : 1;
  const parts = splitRange(x.size, ctx.partsFor(x.size * UNIT_COST.copy), Math.max(1, run));
  ctx.withScratch(rank * 8 + parts.length * rank * 4, (meta) => {
    const words = new Uint32Array(ctx.exports.memory.buffer, meta, rank * 2);
    words.set(shape, 0);
    words.set(strides, rank);
    const index = meta + rank * 8;
    ctx.parallel(
      'permute',
      parts.map(([start, end], i) => [px, out.address, elementBytes, rank, meta, index + i * rank * 4, start, end]),
    );
  });
  return out.handle;
}
