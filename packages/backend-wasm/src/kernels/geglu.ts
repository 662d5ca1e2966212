import { elementwiseGeometry, type DeviceTensor, type GegluGrads } from '@lorafuse/core';
import type { WasmContext } from '../context.js';
import { parallelRange, UNIT_COST } from './parallel-range.js';

/** Floats of an f32x4 vector: parts start on whole vectors, so each runs its SIMD loop over the same elements as a single call would. */
const VECTOR = 4;
/** Bytes of an f32. */
const F32 = 4;

/** {@link Kernels.geglu}. */
export function geglu(ctx: WasmContext, gate: DeviceTensor, up: DeviceTensor): DeviceTensor {
  const { size, shape } = elementwiseGeometry('geglu', gate, up);
  const [pg, pu] = [ctx.address(gate), ctx.address(up)];
  const out = ctx.output(shape, 'f32');
  parallelRange(ctx, 'geglu', size, UNIT_COST.exp, VECTOR, (i, j) => [pg + i * F32, pu + i * F32, out.address + i * F32, j - i]);
  return out.handle;
}

/** {@link Kernels.gegluBackward}. */
export function gegluBackward(ctx: WasmContext, gate: DeviceTensor, up: DeviceTensor, dy: DeviceTensor): GegluGrads {
  const { size, shape } = elementwiseGeometry('gegluBackward', gate, up, dy);
  const [pg, pu, pd] = [ctx.address(gate), ctx.address(up), ctx.address(dy)];
  const dGate = ctx.output(shape, 'f32');
  const dUp = ctx.output(shape, 'f32');
  parallelRange(ctx, 'gegluBackward', size, UNIT_COST.exp, VECTOR, (i, j) => [
    pg + i * F32,
    pu + i * F32,
    pd + i * F32,
    dGate.address + i * F32,
    dUp.address + i * F32,
    j - i,
  ]);
  return { dGate: dGate.handle, dUp: dUp.handle };
}
