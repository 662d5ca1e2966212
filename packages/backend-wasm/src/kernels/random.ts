import {
  dropoutGeometry,
  normalGeometry,
  randomGeometry,
  type DeviceTensor,
  type DropoutOptions,
  type NormalOptions,
  type RandomOptions,
  type Shape,
} from '@lorafuse/core';
import type { WasmContext } from '../context.js';
import { parallelRange, UNIT_COST } from './parallel-range.js';

/** Bytes of an f32. */
const F32 = 4;

/** {@link Kernels.randomUniform}: Philox4x32-10 in the module. */
export function randomUniform(ctx: WasmContext, shape: Shape, options: RandomOptions): DeviceTensor {
  const g = randomGeometry(shape, options);
  const out = ctx.output(g.shape, 'f32');
  ctx.exports.randomUniform(out.address, g.size, g.seed, g.stream, BigInt(g.offset));
  return out.handle;
}

/** {@link Kernels.randomNormal}. */
export function randomNormal(ctx: WasmContext, shape: Shape, options: NormalOptions): DeviceTensor {
  const g = normalGeometry(shape, options);
  const out = ctx.output(g.shape, 'f32');
  ctx.exports.randomNormal(out.address, g.size, g.seed, g.stream, BigInt(g.offset), g.mean, g.std);
  return out.handle;
}

/** {@link Kernels.dropout}: each part continues the stream at its first element's counter. */
export function dropout(ctx: WasmContext, x: DeviceTensor, options: DropoutOptions): DeviceTensor {
  const g = dropoutGeometry(x, options);
  const px = ctx.address(x);
  const out = ctx.output(g.shape, 'f32');
  parallelRange(ctx, 'dropout', g.size, UNIT_COST.philox, 1, (i, j) => [
    px + i * F32,
    out.address + i * F32,
    j - i,
    g.seed,
    g.stream,
    g.offset + i,
    g.threshold,
    g.scale,
  ]);
  return out.handle;
}
