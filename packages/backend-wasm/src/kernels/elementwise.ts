import { broadcastGeometry, castGeometry, elementwiseGeometry, scaleGeometry, type DeviceTensor, type SwigluGrads } from '@lorafuse/core';
import { FLOAT_CODES, type WasmContext } from '../context.js';

/** {@link Kernels.add} (kind 0) and {@link Kernels.mul} (kind 1). */
export function binary(ctx: WasmContext, kernel: 'add' | 'mul', a: DeviceTensor, b: DeviceTensor): DeviceTensor {
  const { size, bSize, shape } = broadcastGeometry(kernel, a, b);
  const [pa, pb] = [ctx.address(a), ctx.address(b)];
  const out = ctx.output(shape, 'f32');
  ctx.exports.binary(kernel === 'add' ? 0 : 1, pa, pb, out.address, size, bSize);
  return out.handle;
}

/** {@link Kernels.scale}. */
export function scale(ctx: WasmContext, x: DeviceTensor, factor: number): DeviceTensor {
  const { size, shape } = scaleGeometry(x, factor);
  const px = ctx.address(x);
  const out = ctx.output(shape, 'f32');
  ctx.exports.scale(px, out.address, size, factor);
  return out.handle;
}

/** {@link Kernels.cast}. */
export function cast(ctx: WasmContext, x: DeviceTensor, dtype: 'f32' | 'f16' | 'bf16'): DeviceTensor {
  const { size, shape } = castGeometry(x, dtype);
  const px = ctx.address(x);
  const out = ctx.output(shape, dtype);
  ctx.exports.castFloats(px, FLOAT_CODES[x.dtype], out.address, FLOAT_CODES[dtype], size);
  return out.handle;
}

/** {@link Kernels.silu} and {@link Kernels.abs}: one f32 input, one output. */
export function unary(ctx: WasmContext, kernel: 'silu' | 'abs', x: DeviceTensor): DeviceTensor {
  const { size, shape } = elementwiseGeometry(kernel, x);
  const px = ctx.address(x);
  const out = ctx.output(shape, 'f32');
  ctx.exports[kernel](px, out.address, size);
  return out.handle;
}

/** {@link Kernels.siluBackward} and {@link Kernels.swiglu}: two inputs of one shape, one output. */
export function pairwise(ctx: WasmContext, kernel: 'siluBackward' | 'swiglu', x: DeviceTensor, y: DeviceTensor): DeviceTensor {
  const { size, shape } = elementwiseGeometry(kernel, x, y);
  const [px, py] = [ctx.address(x), ctx.address(y)];
  const out = ctx.output(shape, 'f32');
  ctx.exports[kernel](px, py, out.address, size);
  return out.handle;
}

/** {@link Kernels.swigluBackward}. */
export function swigluBackward(ctx: WasmContext, gate: DeviceTensor, up: DeviceTensor, dy: DeviceTensor): SwigluGrads {
  const { size, shape } = elementwiseGeometry('swigluBackward', gate, up, dy);
  const [pg, pu, pd] = [ctx.address(gate), ctx.address(up), ctx.address(dy)];
  const dGate = ctx.output(shape, 'f32');
  const dUp = ctx.output(shape, 'f32');
  ctx.exports.swigluBackward(pg, pu, pd, dGate.address, dUp.address, size);
  return { dGate: dGate.handle, dUp: dUp.handle };
}
