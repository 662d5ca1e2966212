import { columnSumSquaresGeometry, globalNormGeometry, sumGeometry, type DeviceTensor } from '@lorafuse/core';
import type { WasmContext } from '../context.js';

/** {@link Kernels.sum}. */
export function sum(ctx: WasmContext, x: DeviceTensor): DeviceTensor {
  const size = sumGeometry(x);
  const px = ctx.address(x);
  const out = ctx.output([], 'f32');
  ctx.exports.sum(px, size, out.address);
  return out.handle;
}

/** {@link Kernels.columnSumSquares}. */
export function columnSumSquares(ctx: WasmContext, x: DeviceTensor): DeviceTensor {
  const { rows, dim } = columnSumSquaresGeometry(x);
  const px = ctx.address(x);
  const out = ctx.output([dim], 'f32');
  ctx.withScratch(dim * 8, (acc) => ctx.exports.columnSumSquares(px, rows, dim, out.address, acc));
  return out.handle;
}

/** {@link Kernels.globalNorm}: the f64 sums of squares of every tensor, added in order. */
export function globalNorm(ctx: WasmContext, tensors: readonly DeviceTensor[]): DeviceTensor {
  globalNormGeometry(tensors);
  const addresses = tensors.map((t) => ctx.address(t));
  let total = 0;
  tensors.forEach((t, i) => {
    total += ctx.exports.sumSquaresF64(addresses[i], t.size);
  });
  const out = ctx.output([], 'f32');
  new Float32Array(ctx.exports.memory.buffer, out.address, 1)[0] = Math.sqrt(total);
  return out.handle;
}
