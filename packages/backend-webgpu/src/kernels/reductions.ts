/// <reference types="@webgpu/types" />
import { columnSumSquaresGeometry, globalNormGeometry, sumGeometry, type DeviceTensor } from '@lorafuse/core';
import type { KernelContext } from './context.js';
import { cachedShader } from './wgsl.js';

/** Elements one workgroup of the sum kernel reduces: 256 threads × 8 strided loads. */
const CHUNK = 2048;

// Each workgroup adds up to CHUNK values (8 per thread, then a tree over the
// 256 threads) into one partial; passes repeat until one value is left. The
// pairwise tree keeps the error of a 10⁶-element f32 sum near 1e-7.
const SUM_SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct P { n: u32, root: u32 }
@group(0) @binding(2) var<uniform> p: P;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  var s = 0.0;
  for (var k = 0u; k < 8u; k = k + 1u) {
    let e = g * ${CHUNK}u + k * 256u + lid;
    if (e < p.n) { s = s + x[e]; }
  }
  part[lid] = s;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride = stride >> 1u) {
    if (lid < stride) { part[lid] = part[lid] + part[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { y[g] = select(part[0], sqrt(part[0]), p.root == 1u); }
}`;

/** Partials one first pass over `n` elements writes. */
const partialsOf = (n: number) => Math.ceil(n / CHUNK);

/**
 * Reduces `n` partial sums in `partials` to one value in `target[0]`
 * (its square root with `root`), in as many passes as needed. Drops `partials`.
 */
function finishSum(ctx: KernelContext, partials: GPUBuffer, n: number, target: GPUBuffer, root: boolean): void {
  let source = partials;
  let count = n;
  for (;;) {
    const groups = Math.max(1, partialsOf(count));
    const last = groups === 1;
    const next = last ? target : ctx.scratch(4 * groups);
    ctx.run(SUM_SHADER, [source, next], [count, last && root ? 1 : 0], groups);
    ctx.drop(source);
    if (last) return;
    source = next;
    count = groups;
  }
}

/** {@link Kernels.sum}. */
export function sum(ctx: KernelContext, x: DeviceTensor): DeviceTensor {
  const n = sumGeometry(x);
  const source = ctx.buffer(x);
  const [out, target] = ctx.output([], 'f32');
  const groups = Math.max(1, partialsOf(n));
  if (groups === 1) {
    ctx.run(SUM_SHADER, [source, target], [n, 0], 1);
    return out;
  }
  const partials = ctx.scratch(4 * groups);
  ctx.run(SUM_SHADER, [source, partials], [n, 0], groups);
  finishSum(ctx, partials, groups, target, false);
  return out;
}

/** Tensors one dispatch of {@link sumSquaresShader} reads: WebGPU's default limit of 8 storage buffers per stage, less the output. */
const INPUTS_PER_DISPATCH = 7;

/**
 * A first pass like {@link SUM_SHADER}'s, of squares, over `inputs` tensors
 * at once: workgroup `g` reduces a chunk of the input whose range of chunks
 * holds it and writes its partial to `offset + g`. Each partial adds the same
 * values in the same order as a dispatch per tensor would, for a fraction of
 * the dispatches.
 */
const sumSquaresShader = cachedShader((inputs: number): string => {
  const ids = [...Array(inputs).keys()];
  const end = (i: number) => (i + 1 < inputs ? `p.first${i + 1}` : 'p.end');
  const chunk = (i: number) => `if (g < ${end(i)}) {
    let c = g - p.first${i};
    for (var k = 0u; k < 8u; k = k + 1u) {
      let e = c * ${CHUNK}u + k * 256u + lid;
      if (e < p.n${i}) { let v = x${i}[e]; s = s + v * v; }
    }
  }`;
  return /* wgsl */ `
${ids.map((i) => `@group(0) @binding(${i}) var<storage, read> x${i}: array<f32>;`).join('\n')}
@group(0) @binding(${inputs}) var<storage, read_write> y: array<f32>;
struct P { offset: u32, end: u32, ${ids.map((i) => `n${i}: u32, first${i}: u32`).join(', ')} }
@group(0) @binding(${inputs + 1}) var<uniform> p: P;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  var s = 0.0;
  ${ids.map(chunk).join(' else ')}
  part[lid] = s;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride = stride >> 1u) {
    if (lid < stride) { part[lid] = part[lid] + part[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u && g < p.end) { y[p.offset + g] = part[0]; }
}`;
});

/** {@link Kernels.globalNorm}: every tensor's sums of squares side by side, up to seven tensors per dispatch, then one sum and a square root. */
export function globalNorm(ctx: KernelContext, tensors: readonly DeviceTensor[]): DeviceTensor {
  globalNormGeometry(tensors);
  const [out, target] = ctx.output([], 'f32');
  const total = tensors.reduce((acc, t) => acc + partialsOf(t.size), 0);
  const partials = ctx.scratch(4 * Math.max(1, total));
  let offset = 0;
  for (let i = 0; i < tensors.length; i += INPUTS_PER_DISPATCH) {
    const group = tensors.slice(i, i + INPUTS_PER_DISPATCH);
    const uniforms: number[] = [];
    let groups = 0;
    for (const t of group) {
      uniforms.push(t.size, groups);
      groups += partialsOf(t.size);
    }
    ctx.run(sumSquaresShader(group.length), [...group.map((t) => ctx.buffer(t)), partials], [offset, groups, ...uniforms], groups);
    offset += groups;
  }
  finishSum(ctx, partials, total, target, true);
  return out;
}

/**
 * A per-column sum over the rows of a `[rows, cols]` matrix: 16 columns per
 * workgroup, 16 lanes per column summing every 16th row, then a tree over
 * the lanes. `term` is the WGSL expression of one addend from row `r`,
 * column `c` (flat index `e = r * p.cols + c`).
 */
export function columnSumShader(bindings: string, term: string): string {
  return /* wgsl */ `${bindings}
struct P { rows: u32, cols: u32, a: u32, b: u32 }
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let column = lid % 16u;
  let lane = lid / 16u;
  let c = (wid.y * nwg.x + wid.x) * 16u + column;
  var s = 0.0;
  if (c < p.cols) {
    for (var r = lane; r < p.rows; r = r + 16u) {
      let e = r * p.cols + c;
      s = s + ${term};
    }
  }
  part[lid] = s;
  workgroupBarrier();
  for (var stride = 8u; stride > 0u; stride = stride >> 1u) {
    if (lane < stride) { part[lid] = part[lid] + part[lid + stride * 16u]; }
    workgroupBarrier();
  }
  if (lane == 0u && c < p.cols) { y[c] = part[lid]; }
}`;
}

/** Workgroups of {@link columnSumShader} for `cols` columns. */
export const columnGroups = (cols: number) => Math.ceil(cols / 16);

const COLUMN_SUM_SQUARES = columnSumShader(
  `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: P;`,
  'x[e] * x[e]',
);

/** {@link Kernels.columnSumSquares}. */
export function columnSumSquares(ctx: KernelContext, x: DeviceTensor): DeviceTensor {
  const { rows, dim } = columnSumSquaresGeometry(x);
  const source = ctx.buffer(x);
  const [out, target] = ctx.output([dim], 'f32');
  ctx.run(COLUMN_SUM_SQUARES, [source, target], [rows, dim], columnGroups(dim));
  return out;
}
