import { normalGeometry, randomGeometry, type DeviceTensor, type NormalOptions, type RandomOptions, type Shape } from '@lorafuse/core';
import type { WasmContext } from '../context.js';

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
