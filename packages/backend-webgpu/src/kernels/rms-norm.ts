import { rmsNormGeometry, type DeviceTensor, type RmsNormGrads } from '@lorafuse/core';
import { f32, type KernelContext } from './context.js';
import { columnGroups, columnSumShader } from './reductions.js';
import { rowGroups, rowLayout, rowMain, workgroupReduce, type RowLayout } from './wgsl.js';

// The threads of a row add strided squares, a tree combines them, then
// every thread writes its share of the row.
function rowShader(backward: boolean, layout: RowLayout): string {
  const { threads } = layout;
  const bindings = backward
    ? `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> inv: array<f32>;
@group(0) @binding(5) var<uniform> p: P;`
    : `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: P;`;
  const finish = backward
    ? `var dot = 0.0;
  for (var d = part; d < p.dim; d = d + ${threads}u) { dot = dot + dy[o + d] * w[d] * x[o + d] * r; }
  let mean = workgroupSum(part, dot) / f32(p.dim);
  // With D = 1 the general form cancels to dy·w·eps·r³; the closed form avoids losing every digit.
  if (p.dim == 1u) {
    if (part == 0u) { y[o] = dy[o] * w[0] * p.eps * r * r * r; }
  } else {
    for (var d = part; d < p.dim; d = d + ${threads}u) { y[o + d] = r * (dy[o + d] * w[d] - x[o + d] * r * mean); }
  }
  if (part == 0u) { inv[row] = r; }`
    : `for (var d = part; d < p.dim; d = d + ${threads}u) { y[o + d] = w[d] * x[o + d] * r; }`;
  return /* wgsl */ `${bindings}
struct P { rows: u32, dim: u32, eps: f32, pad: u32 }
${workgroupReduce('workgroupSum', 'a + b', threads)}
${rowMain(layout)}
  let o = row * p.dim;
  var ss = 0.0;
  for (var d = part; d < p.dim; d = d + ${threads}u) { ss = ss + x[o + d] * x[o + d]; }
  let r = 1.0 / sqrt(workgroupSum(part, ss) / f32(p.dim) + p.eps);
  ${finish}
}`;
}

const FORWARD = [false, true].map((cpu) => rowShader(false, rowLayout(cpu)));
const BACKWARD = [false, true].map((cpu) => rowShader(true, rowLayout(cpu)));
const WEIGHT_GRADIENT = columnSumShader(
  `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> inv: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: P;`,
  'dy[e] * x[e] * inv[r]',
);

/** {@link Kernels.rmsNorm}. */
export function rmsNorm(ctx: KernelContext, x: DeviceTensor, weight: DeviceTensor, eps: number): DeviceTensor {
  const { rows, dim } = rmsNormGeometry(x, weight, eps);
  const [xb, wb] = [ctx.buffer(x), ctx.buffer(weight)];
  const [out, y] = ctx.output(x.shape, 'f32');
  ctx.run(FORWARD[Number(ctx.cpuKernels)], [xb, wb, y], [rows, dim, f32(eps)], rowGroups(ctx.cpuKernels, rows));
  return out;
}

/** {@link Kernels.rmsNormBackward}: `dx` per row, then `dWeight` per column from the saved `1/rms`. */
export function rmsNormBackward(ctx: KernelContext, x: DeviceTensor, weight: DeviceTensor, dy: DeviceTensor, eps: number): RmsNormGrads {
  const { rows, dim } = rmsNormGeometry(x, weight, eps, dy);
  const [xb, wb, gb] = [ctx.buffer(x), ctx.buffer(weight), ctx.buffer(dy)];
  const [dx, dxb] = ctx.output(x.shape, 'f32');
  const [dWeight, dwb] = ctx.output([dim], 'f32');
  const inv = ctx.scratch(4 * rows);
  ctx.run(BACKWARD[Number(ctx.cpuKernels)], [xb, wb, gb, dxb, inv], [rows, dim, f32(eps)], rowGroups(ctx.cpuKernels, rows));
  ctx.run(WEIGHT_GRADIENT, [xb, gb, inv, dwb], [rows, dim], columnGroups(dim));
  ctx.drop(inv);
  return { dx, dWeight };
}
