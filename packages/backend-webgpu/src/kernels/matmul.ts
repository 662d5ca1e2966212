/// <reference types="@webgpu/types" />
import { loraLinearGeometry, matmulGeometry, type DeviceDType, type DeviceTensor, type MatmulOptions } from '@lorafuse/core';
import type { KernelContext } from './context.js';
import { f32 } from './context.js';
import { HALF_TO_F32, cachedShader, floatLoader, wgslArray } from './wgsl.js';

/** Output tile of one workgroup (rows × columns) and the depth of one shared-memory stage. */
const TILE = 32;
const DEPTH = 16;
/** Threads per workgroup: one per 4×4 block of the tile. */
const THREADS = (TILE / 4) ** 2;
/** Tile rows of vec4 (TILE / 4) and loads per thread and stage. */
const QUADS = TILE / 4;
const LOADS = (TILE * DEPTH) / THREADS;
const VECTOR_LOADS = LOADS / 4;
/** The WebGPU default of `maxComputeWorkgroupsPerDimension`, which every adapter offers. */
const MAX_BATCH_PER_DISPATCH = 65_535;

/** The bindings and uniforms of both matmul kernels; operands are vec4 arrays with `vector`. */
function bindings(vector: boolean, bDtype: DeviceDType): string {
  return /* wgsl */ `@group(0) @binding(0) var<storage, read> a: array<${vector ? 'vec4f' : 'f32'}>;
@group(0) @binding(1) var<storage, read> b: array<${vector ? 'vec4f' : wgslArray(bDtype)}>;
@group(0) @binding(2) var<storage, read> addend: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
struct P { m: u32, k: u32, n: u32, aStride: u32, bStride: u32, alpha: f32, hasAddend: u32, batchBase: u32 }
@group(0) @binding(4) var<uniform> p: P;`;
}

/** `store(batchOff, row, col, v)`: writes `alpha·v (+ addend)` to the in-bounds part of one row of a thread's block. */
const STORE_FN = /* wgsl */ `
fn store(batchOff: u32, row: u32, col: u32, v: vec4f) {
  if (row >= p.m) { return; }
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (col + j < p.n) {
      let o = batchOff + row * p.n + col + j;
      var r = p.alpha * v[j];
      if (p.hasAddend == 1u) { r = r + addend[o]; }
      y[o] = r;
    }
  }
}
`;

/**
 * WGSL that fills one operand's shared tile for the stage at `k0`. `tile`
 * is `As` (rows m) or `Bs` (columns n); `outer` names the row/column index
 * and its bound, `index` the flat element index of (outer, kg). With `vector`
 * the operand is read as vec4 along its contiguous dimension (the caller
 * checks that it is a multiple of 4, so a vec4 is wholly in or out of bounds).
 */
function tileLoad(tile: string, load: string, outer: [string, string, string], contiguousK: boolean, vector: boolean, index: string): string {
  const [name, base, bound] = outer;
  if (!vector) {
    const split = contiguousK ? `let kk = e % ${DEPTH}u; let o = e / ${DEPTH}u;` : `let o = e % ${TILE}u; let kk = e / ${TILE}u;`;
    return `for (var l = 0u; l < ${LOADS}u; l = l + 1u) {
      let e = lid + l * ${THREADS}u;
      ${split}
      let ${name} = ${base} + o;
      let kg = k0 + kk;
      var v = 0.0;
      if (${name} < ${bound} && kg < p.k) { v = ${load}(${index}); }
      ${tile}[kk * ${QUADS}u + o / 4u][o % 4u] = v;
    }`;
  }
  if (contiguousK) {
    return `for (var l = 0u; l < ${VECTOR_LOADS}u; l = l + 1u) {
      let e = lid + l * ${THREADS}u;
      let kq = e % ${DEPTH / 4}u;
      let o = e / ${DEPTH / 4}u;
      let ${name} = ${base} + o;
      let kg = k0 + kq * 4u;
      var v = vec4f(0.0);
      if (${name} < ${bound} && kg < p.k) { v = ${load}4(${index}); }
      for (var c = 0u; c < 4u; c = c + 1u) { ${tile}[(kq * 4u + c) * ${QUADS}u + o / 4u][o % 4u] = v[c]; }
    }`;
  }
  return `for (var l = 0u; l < ${VECTOR_LOADS}u; l = l + 1u) {
      let e = lid + l * ${THREADS}u;
      let oq = e % ${QUADS}u;
      let kk = e / ${QUADS}u;
      let ${name} = ${base} + oq * 4u;
      let kg = k0 + kk;
      var v = vec4f(0.0);
      if (${name} < ${bound} && kg < p.k) { v = ${load}4(${index}); }
      ${tile}[kk * ${QUADS}u + oq] = v;
    }`;
}

/**
 * The WGSL of a matmul specialised for transposes, the dtype of `b` and
 * whether each operand can be read as vec4 along its contiguous dimension.
 */
const matmulShader = cachedShader((transA: boolean, transB: boolean, bDtype: DeviceDType, vector: boolean): string => {
  const aIndex = transA ? 'aOff + kg * p.m + row' : 'aOff + row * p.k + kg';
  const bIndex = transB ? 'bOff + col * p.k + kg' : 'bOff + kg * p.n + col';
  const loadA = tileLoad('As', 'aAt', ['row', 'rowBase', 'p.m'], !transA, vector, aIndex);
  const loadB = tileLoad('Bs', 'bAt', ['col', 'colBase', 'p.n'], transB, vector, bIndex);
  return /* wgsl */ `
${bindings(vector, bDtype)}
${vector ? 'fn aAt4(i: u32) -> vec4f { return a[i / 4u]; }' : 'fn aAt(i: u32) -> f32 { return a[i]; }'}
${vector ? 'fn bAt4(i: u32) -> vec4f { return b[i / 4u]; }' : floatLoader('b', bDtype)}
${bDtype === 'f32' ? '' : HALF_TO_F32}
// Tiles are stored as vec4 rows so that each thread reads its 4 rows of A
// and 4 columns of B with one load each; the 4×4 accumulator is four vec4
// registers updated by outer products (no dynamically indexed arrays, which
// compilers spill to memory).
var<workgroup> As: array<vec4f, ${(TILE * DEPTH) / 4}>;
var<workgroup> Bs: array<vec4f, ${(TILE * DEPTH) / 4}>;
${STORE_FN}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let batch = p.batchBase + wid.z;
  let rowBase = wid.y * ${TILE}u;
  let colBase = wid.x * ${TILE}u;
  let aOff = batch * p.aStride;
  let bOff = batch * p.bStride;
  let tx = lid % ${QUADS}u;
  let ty = lid / ${QUADS}u;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < p.k; k0 = k0 + ${DEPTH}u) {
    ${loadA}
    ${loadB}
    workgroupBarrier();
    for (var kk = 0u; kk < ${DEPTH}u; kk = kk + 1u) {
      let av = As[kk * ${QUADS}u + ty];
      let bv = Bs[kk * ${QUADS}u + tx];
      acc0 = acc0 + av.x * bv;
      acc1 = acc1 + av.y * bv;
      acc2 = acc2 + av.z * bv;
      acc3 = acc3 + av.w * bv;
    }
    workgroupBarrier();
  }
  let outOff = batch * p.m * p.n;
  let row = rowBase + ty * 4u;
  let col = colBase + tx * 4u;
  store(outOff, row, col, acc0);
  store(outOff, row + 1u, col, acc1);
  store(outOff, row + 2u, col, acc2);
  store(outOff, row + 3u, col, acc3);
}`;
});

/**
 * WGSL of a matmul without workgroup memory or barriers, for CPU adapters:
 * each thread reads the 4 rows of op(A) and the 4 columns of op(B) of its
 * 4×4 block straight from the buffers (the CPU's caches do what shared
 * memory does on a GPU), 4 steps of k at a time. With `vector` (f32
 * operands, K and both contiguous dimensions multiples of 4) every read is
 * a vec4 load; otherwise elements are read one by one with bounds checks.
 * The additions of each output run in k order, as in the tiled kernel.
 */
const directMatmulShader = cachedShader((transA: boolean, transB: boolean, bDtype: DeviceDType, vector: boolean, narrow: boolean): string => {
  // aBlock: column i = op(A)[row + i, k..k+3]; bBlock: column c = op(B)[k + c, col..col+3].
  const quads = (load: (i: number) => string) => `mat4x4f(${[0, 1, 2, 3].map(load).join(', ')})`;
  const elements = (at: string, index: string, inBounds: string) =>
    `var m = mat4x4f(); for (var i = 0u; i < 4u; i = i + 1u) { for (var c = 0u; c < 4u; c = c + 1u) { if (${inBounds}) { m[i][c] = ${at}(${index}); } } } return m;`;
  let aBlock: string;
  let bBlock: string;
  if (vector) {
    // Rows beyond M (or columns beyond N) read as zeros; inside, a vec4 never straddles the end.
    aBlock = transA
      ? `if (base >= p.m) { return mat4x4f(); } return transpose(${quads((c) => `a[(off + (k + ${c}u) * p.m + base) / 4u]`)});`
      : `return ${quads((i) => `select(vec4f(0.0), a[(off + min(base + ${i}u, p.m - 1u) * p.k + k) / 4u], base + ${i}u < p.m)`)};`;
    bBlock = transB
      ? `return transpose(${quads((j) => `select(vec4f(0.0), b[(off + min(base + ${j}u, p.n - 1u) * p.k + k) / 4u], base + ${j}u < p.n)`)});`
      : `if (base >= p.n) { return mat4x4f(); } return ${quads((c) => `b[(off + (k + ${c}u) * p.n + base) / 4u]`)};`;
  } else {
    aBlock = elements('aAt', transA ? 'off + (k + c) * p.m + base + i' : 'off + (base + i) * p.k + k + c', 'base + i < p.m && k + c < p.k');
    // For B the outer index is the column j = i of op(B) and the inner one the step c; column c of the block is op(B)[k + c, ...].
    bBlock = elements('bAt', transB ? 'off + (base + i) * p.k + k + c' : 'off + (k + c) * p.n + base + i', 'base + i < p.n && k + c < p.k').replace(
      'return m;',
      'return transpose(m);',
    );
  }
  return /* wgsl */ `
${bindings(vector, bDtype)}
${vector ? '' : 'fn aAt(i: u32) -> f32 { return a[i]; }'}
${vector ? '' : floatLoader('b', bDtype)}
${bDtype === 'f32' ? '' : HALF_TO_F32}
fn aBlock(off: u32, base: u32, k: u32) -> mat4x4f { ${aBlock} }
fn bBlock(off: u32, base: u32, k: u32) -> mat4x4f { ${bBlock} }
${STORE_FN}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let batch = p.batchBase + wid.z;
  let aOff = batch * p.aStride;
  let bOff = batch * p.bStride;
  // Consecutive threads, which a CPU adapter runs as the lanes of one SIMD
  // register, take consecutive blocks along the row, or down the column when
  // the output is narrow (N of a LoRA rank): then the blocks past its edge
  // fill whole registers, which return at once instead of computing zeros.
  let row = wid.y * ${TILE}u + (${narrow ? `lid % ${QUADS}u` : `lid / ${QUADS}u`}) * 4u;
  let col = wid.x * ${TILE}u + (${narrow ? `lid / ${QUADS}u` : `lid % ${QUADS}u`}) * 4u;
  if (row >= p.m || col >= p.n) { return; }
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k = 0u; k < p.k; k = k + 4u) {
    let am = aBlock(aOff, row, k);
    let bm = bBlock(bOff, col, k);
    for (var c = 0u; c < 4u; c = c + 1u) {
      let bv = bm[c];
      acc0 = acc0 + am[0][c] * bv;
      acc1 = acc1 + am[1][c] * bv;
      acc2 = acc2 + am[2][c] * bv;
      acc3 = acc3 + am[3][c] * bv;
    }
  }
  let outOff = batch * p.m * p.n;
  store(outOff, row, col, acc0);
  store(outOff, row + 1u, col, acc1);
  store(outOff, row + 2u, col, acc2);
  store(outOff, row + 3u, col, acc3);
}`;
});

/** The operands and sizes of one encoded matrix product `y = alpha · op(a)·op(b) (+ addend)`. */
interface MatmulCall {
  readonly a: GPUBuffer;
  readonly b: GPUBuffer;
  readonly bDtype: DeviceDType;
  readonly y: GPUBuffer;
  readonly addend?: GPUBuffer;
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly aBatchStride: number;
  readonly bBatchStride: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly alpha: number;
}

/** Encodes one (batched) tiled matrix product. */
function encodeMatmul(ctx: KernelContext, c: MatmulCall): void {
  // vec4 reads need each operand's contiguous dimension to be a multiple of
  // 4. Both operands switch together: every variant is one more pipeline to
  // compile, which takes seconds on CPU adapters.
  const vector = c.bDtype === 'f32' && (c.transA ? c.m : c.k) % 4 === 0 && (c.transB ? c.k : c.n) % 4 === 0;
  // The direct kernel steps k by 4 with whole vec4 reads, so K must be a multiple of 4 as well.
  const narrow = c.n < c.m && c.n <= TILE / 2;
  const code = ctx.cpuKernels
    ? directMatmulShader(c.transA, c.transB, c.bDtype, vector && c.k % 4 === 0, narrow)
    : matmulShader(c.transA, c.transB, c.bDtype, vector);
  // Without an addend, `a` stands in for it: a read-only binding may repeat.
  const buffers = [c.a, c.b, c.addend ?? c.a, c.y];
  // The z dimension of a dispatch is limited; larger batches go in slices.
  for (let base = 0; base < c.batch; base += MAX_BATCH_PER_DISPATCH) {
    ctx.run(
      code,
      buffers,
      [c.m, c.k, c.n, c.aBatchStride, c.bBatchStride, f32(c.alpha), c.addend ? 1 : 0, base],
      [Math.ceil(c.n / TILE), Math.ceil(c.m / TILE), Math.min(MAX_BATCH_PER_DISPATCH, c.batch - base)],
    );
  }
}

/** {@link Kernels.matmul}. */
export function matmul(ctx: KernelContext, a: DeviceTensor, b: DeviceTensor, options: MatmulOptions = {}): DeviceTensor {
  const g = matmulGeometry(a, b, options);
  const [ab, bb] = [ctx.buffer(a), ctx.buffer(b)];
  const [out, y] = ctx.output(g.shape, 'f32');
  encodeMatmul(ctx, { a: ab, b: bb, bDtype: b.dtype, y, ...g, transA: options.transA ?? false, transB: options.transB ?? false, alpha: 1 });
  return out;
}

/** {@link Kernels.loraLinear}: the base product, the rank-r activation, then `scale·low·Bᵀ` added to the base. */
export function loraLinear(ctx: KernelContext, x: DeviceTensor, w0: DeviceTensor, a: DeviceTensor, b: DeviceTensor, scale: number): DeviceTensor {
  const g = loraLinearGeometry(x, w0, a, b, scale);
  const [xb, wb, ab, bb] = [x, w0, a, b].map((t) => ctx.buffer(t));
  const [out, y] = ctx.output(g.shape, 'f32');
  const rows = { batch: 1, m: g.rows, aBatchStride: 0, bBatchStride: 0, transA: false, transB: true };
  const base = ctx.scratch(4 * g.rows * g.outFeatures);
  const low = ctx.scratch(4 * g.rows * g.rank);
  encodeMatmul(ctx, { ...rows, a: xb, b: wb, bDtype: w0.dtype, y: base, k: g.inFeatures, n: g.outFeatures, alpha: 1 });
  encodeMatmul(ctx, { ...rows, a: xb, b: ab, bDtype: 'f32', y: low, k: g.inFeatures, n: g.rank, alpha: 1 });
  encodeMatmul(ctx, { ...rows, a: low, b: bb, bDtype: 'f32', y, addend: base, k: g.rank, n: g.outFeatures, alpha: scale });
  ctx.drop(base);
  ctx.drop(low);
  return out;
}
