import { crossEntropyBackwardGeometry, crossEntropyGeometry, type CrossEntropyResult, type DeviceTensor } from '@lorafuse/core';
import { f32, groupsFor, type KernelContext } from './context.js';
import { NAN, rowGroups, rowLayout, rowMain, workgroupReduce, type RowLayout } from './wgsl.js';

const IGNORE_INDEX = -100;

// Per row: the max (NaN tracked on the bits, since min/max of NaN is
// implementation-defined), the sum of exponentials, the log-sum-exp and the
// row's loss term.
function rowsShader(layout: RowLayout): string {
  const { threads } = layout;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<i32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> terms: array<f32>;
struct P { rows: u32, vocab: u32 }
@group(0) @binding(4) var<uniform> p: P;
${NAN}${workgroupReduce('workgroupSum', 'a + b', threads)}${workgroupReduce('workgroupMax', 'max(a, b)', threads)}
${rowMain(layout)}
  let o = row * p.vocab;
  var m = -0x1.fffffep+127f;
  var nans = 0.0;
  for (var c = part; c < p.vocab; c = c + ${threads}u) {
    let v = x[o + c];
    if (isNan(v)) { nans = 1.0; } else { m = max(m, v); }
  }
  let rowMax = workgroupMax(part, m);
  var s = 0.0;
  for (var c = part; c < p.vocab; c = c + ${threads}u) { s = s + exp(x[o + c] - rowMax); }
  let total = workgroupSum(part, s);
  let anyNan = workgroupSum(part, nans);
  if (part == 0u) {
    let l = select(rowMax + log(total), nan(), anyNan > 0.0);
    lse[row] = l;
    let tgt = t[row];
    var term = 0.0;
    if (tgt != ${IGNORE_INDEX}) {
      term = select(nan(), l - x[o + u32(tgt)], tgt >= 0 && u32(tgt) < p.vocab);
    }
    terms[row] = term;
  }
}`;
}
const ROWS = [false, true].map((cpu) => rowsShader(rowLayout(cpu)));

// One workgroup: Σ terms / count over the rows that are not ignored.
const MEAN = /* wgsl */ `
@group(0) @binding(0) var<storage, read> terms: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
struct P { rows: u32 }
@group(0) @binding(3) var<uniform> p: P;
${NAN}${workgroupReduce('workgroupSum', 'a + b', 256)}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  var n = 0.0;
  for (var r = lid; r < p.rows; r = r + 256u) {
    if (t[r] != ${IGNORE_INDEX}) { s = s + terms[r]; n = n + 1.0; }
  }
  let total = workgroupSum(lid, s);
  let count = workgroupSum(lid, n);
  if (lid == 0u) { loss[0] = select(nan(), total / count, count > 0.0); }
}`;

/** {@link Kernels.crossEntropy}. */
export function crossEntropy(ctx: KernelContext, logits: DeviceTensor, targets: DeviceTensor): CrossEntropyResult {
  const { rows, vocab, shape } = crossEntropyGeometry(logits, targets);
  const [xb, tb] = [ctx.buffer(logits), ctx.buffer(targets)];
  const [lse, lb] = ctx.output(shape, 'f32');
  const [loss, lossb] = ctx.output([], 'f32');
  const terms = ctx.scratch(4 * rows);
  ctx.run(ROWS[Number(ctx.cpuKernels)], [xb, tb, lb, terms], [rows, vocab], rowGroups(ctx.cpuKernels, rows));
  ctx.run(MEAN, [terms, tb, lossb], [rows], 1);
  ctx.drop(terms);
  return { loss, lse };
}

// The count of rows that are not ignored, recomputed by every workgroup of
// the gradient (a single pass over the targets, cheap next to the logits).
const BACKWARD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<i32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> count: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
struct P { rows: u32, vocab: u32, scale: f32, phase: u32 }
@group(0) @binding(5) var<uniform> p: P;
${NAN}${workgroupReduce('workgroupSum', 'a + b', 256)}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (p.phase == 0u) {
    var n = 0.0;
    for (var r = lid; r < p.rows; r = r + 256u) { if (t[r] != ${IGNORE_INDEX}) { n = n + 1.0; } }
    let total = workgroupSum(lid, n);
    if (lid == 0u) { count[0] = total; }
    return;
  }
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.rows * p.vocab) { return; }
  let row = i / p.vocab;
  let c = i % p.vocab;
  let tgt = t[row];
  if (tgt == ${IGNORE_INDEX}) { y[i] = 0.0; return; }
  if (tgt < 0 || u32(tgt) >= p.vocab) { y[i] = nan(); return; }
  let hit = select(0.0, 1.0, u32(tgt) == c);
  // Some adapters (SwiftShader) give exp(NaN) = Inf: NaN is carried on the bits.
  let z = x[i] - lse[row];
  y[i] = select(p.scale * (exp(z) - hit) / count[0], nan(), isNan(z));
}`;

/** {@link Kernels.crossEntropyBackward}: counts the rows that are not ignored, then the gradient per element. */
export function crossEntropyBackward(ctx: KernelContext, logits: DeviceTensor, targets: DeviceTensor, lse: DeviceTensor, scale: number): DeviceTensor {
  const { rows, vocab } = crossEntropyBackwardGeometry(logits, targets, lse, scale);
  const buffers = [logits, targets, lse].map((t) => ctx.buffer(t));
  const [out, y] = ctx.output(logits.shape, 'f32');
  const count = ctx.scratch(4);
  ctx.run(BACKWARD, [...buffers, count, y], [rows, vocab, f32(scale), 0], 1);
  ctx.run(BACKWARD, [...buffers, count, y], [rows, vocab, f32(scale), 1], groupsFor(rows * vocab));
  ctx.drop(count);
  return out;
}
