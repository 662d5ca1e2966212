import { softcapGeometry, type DeviceTensor } from '@lorafuse/core';
import type { WasmContext } from '../context.js';
import { parallelRange, UNIT_COST } from './parallel-range.js';

/** Floats of an f32x4 vector: parts start on whole vectors, so each runs its SIMD loop over the same elements as a single call would. */
const VECTOR = 4;
/** Bytes of an f32. */
const F32 = 4;

/** {@link Kernels.softcap}. */
export function softcap(ctx: WasmContext, x: DeviceTensor, cap: number): DeviceTensor {
  const { size, shape } = softcapGeometry('softcap', cap, x);
  const px = ctx.address(x);
  const out = ctx.output(shape, 'f32');
  parallelRange(ctx, 'softcap', size, UNIT_COST.exp, VECTOR, (i, j) => [px + i * F32, out.address + i * F32, j - i, cap]);
  return out.handle;
}

/** {@link Kernels.softcapBackward}. */
export function softcapBackward(ctx: WasmContext, y: DeviceTensor, dy: DeviceTensor, cap: number): DeviceTensor {
  const { size, shape } = softcapGeometry('softcapBackward', cap, y, dy);
  const [py, pd] = [ctx.address(y), ctx.address(dy)];
  const out = ctx.output(shape, 'f32');
  parallelRange(ctx, 'softcapBackward', size, UNIT_COST.arithmetic, VECTOR, (i, j) => [py + i * F32, pd + i * F32, out.address + i * F32, j - i, cap]);
  return out.handle;
}
