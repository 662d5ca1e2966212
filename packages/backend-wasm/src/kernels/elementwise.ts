import { broadcastGeometry, castGeometry, elementwiseGeometry, scaleGeometry, type DeviceTensor, type SwigluGrads } from '@lorafuse/core';
import { FLOAT_CODES, type WasmContext } from '../context.js';
import { parallelRange, UNIT_COST } from './parallel-range.js';

/** Floats of an f32x4 vector: parts start on whole vectors, so each runs its SIMD loop over the same elements as a single call would. */
const VECTOR = 4;
/** Bytes of an f32. */
const F32 = 4;

/** {@link Kernels.add} (kind 0) and {@link Kernels.mul} (kind 1). */
export function binary(ctx: WasmContext, kernel: 'add' | 'mul', a: DeviceTensor, b: DeviceTensor): DeviceTensor {
  const { size, bSize, shape } = broadcastGeometry(kernel, a, b);
  const [pa, pb] = [ctx.address(a), ctx.address(b)];
  const out = ctx.output(shape, 'f32');
  const kind = kernel === 'add' ? 0 : 1;
  if (bSize === size || bSize === 1) {
    const whole = bSize === size;
    parallelRange(ctx, 'binary', size, UNIT_COST.arithmetic, VECTOR, (i, j) => [
      kind,
      pa + i * F32,
      whole ? pb + i * F32 : pb,
      out.address + i * F32,
      j - i,
      whole ? j - i : 1,
    ]);
  } else {
    // Whole repetitions of b, so that every part starts at b's first element.
    parallelRange(ctx, 'binary', size / bSize, bSize * UNIT_COST.arithmetic, 1, (i, j) => [
      kind,
      pa + i * bSize * F32,
      pb,
      out.address + i * bSize * F32,
      (j - i) * bSize,
      bSize,
    ]);
  }
  return out.handle;
}

/** {@link Kernels.scale}. */
export function scale(ctx: WasmContext, x: DeviceTensor, factor: number): DeviceTensor {
  const { size, shape } = scaleGeometry(x, factor);
  const px = ctx.address(x);
  const out = ctx.output(shape, 'f32');
  parallelRange(ctx, 'scale', size, UNIT_COST.arithmetic, VECTOR, (i, j) => [px + i * F32, out.address + i * F32, j - i, factor]);
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

/** What an element of each one-input kernel costs. */
const UNARY_COST = { silu: UNIT_COST.exp, abs: UNIT_COST.copy, sqrt: UNIT_COST.arithmetic } as const;

/** {@link Kernels.silu}, {@link Kernels.abs} and {@link Kernels.sqrt}: one f32 input, one output. */
export function unary(ctx: WasmContext, kernel: keyof typeof UNARY_COST, x: DeviceTensor): DeviceTensor {
  const { size, shape } = elementwiseGeometry(kernel, x);
  const px = ctx.address(x);
  const out = ctx.output(shape, 'f32');
  parallelRange(ctx, kernel, size, UNARY_COST[kernel], VECTOR, (i, j) => [px + i * F32, out.address + i * F32, j - i]);
  return out.handle;
}

/** {@link Kernels.siluBackward}, {@link Kernels.swiglu} and {@link Kernels.geglu}: two inputs of one shape, one output. */
export function pairwise(ctx: WasmContext, kernel: 'siluBackward' | 'swiglu' | 'geglu', x: DeviceTensor, y: DeviceTensor): DeviceTensor {
  const { size, shape } = elementwiseGeometry(kernel, x, y);
  const [px, py] = [ctx.address(x), ctx.address(y)];
  const out = ctx.output(shape, 'f32');
  parallelRange(ctx, kernel, size, UNIT_COST.exp, VECTOR, (i, j) => [px + i * F32, py + i * F32, out.address + i * F32, j - i]);
  return out.handle;
}

/** {@link Kernels.swigluBackward} and {@link Kernels.gegluBackward}: the gradients of a gated activation. */
export function gatedBackward(
  ctx: WasmContext,
  kernel: 'swigluBackward' | 'gegluBackward',
  gate: DeviceTensor,
  up: DeviceTensor,
  dy: DeviceTensor,
): SwigluGrads {
  const { size, shape } = elementwiseGeometry(kernel, gate, up, dy);
  const [pg, pu, pd] = [ctx.address(gate), ctx.address(up), ctx.address(dy)];
  const dGate = ctx.output(shape, 'f32');
  const dUp = ctx.output(shape, 'f32');
  parallelRange(ctx, kernel, size, UNIT_COST.exp, VECTOR, (i, j) => [
    pg + i * F32,
    pu + i * F32,
    pd + i * F32,
    dGate.address + i * F32,
    dUp.address + i * F32,
    j - i,
  ]);
  return { dGate: dGate.handle, dUp: dUp.handle };
}
