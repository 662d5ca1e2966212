import { attentionBackwardGeometry, attentionGeometry, type AttentionGeometry, type AttentionGrads, type AttentionOptions, type AttentionResult, type DeviceTensor } from '@lorafuse/core';
import { f32, groupsFor, type KernelContext, type UniformValue } from './context.js';
import { MAIN_1D } from './wgsl.js';

// Causal GQA attention with one thread per output element (row, d): each
// thread recomputes the scores it needs, which keeps the kernels simple and
// exact in structure at the price of redundant dot products.

const COMMON = /* wgsl */ `
struct P { batch: u32, heads: u32, kvHeads: u32, group: u32, seqQ: u32, seqK: u32, dim: u32, scale: f32 }
fn dotRows(ao: u32, bo: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < p.dim; d = d + 1u) { s = s + q[ao + d] * k[bo + d]; }
  return s;
}
fn kvBase(row: u32) -> u32 {
  let bh = row / p.seqQ;
  let b = bh / p.heads;
  let h = bh % p.heads;
  return (b * p.kvHeads + h / p.group) * p.seqK * p.dim;
}
`;

const FORWARD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${COMMON}${MAIN_1D}
  let width = max(p.dim, 1u);
  let row = i / width;
  let d = i % width;
  if (row >= p.batch * p.heads * p.seqQ) { return; }
  let qo = row * p.dim;
  let kv = kvBase(row);
  let visible = row % p.seqQ + p.seqK - p.seqQ + 1u;
  var m = -0x1.fffffep+127f;
  for (var j = 0u; j < visible; j = j + 1u) { m = max(m, p.scale * dotRows(qo, kv + j * p.dim)); }
  var total = 0.0;
  for (var j = 0u; j < visible; j = j + 1u) { total = total + exp(p.scale * dotRows(qo, kv + j * p.dim) - m); }
  let l = m + log(total);
  if (d < p.dim) {
    var acc = 0.0;
    for (var j = 0u; j < visible; j = j + 1u) {
      acc = acc + exp(p.scale * dotRows(qo, kv + j * p.dim) - l) * v[kv + j * p.dim + d];
    }
    out[qo + d] = acc;
  }
  if (d == 0u) { lse[row] = l; }
}`;

// Every backward shader uses all six inputs: the auto-generated layout keeps only the bindings a shader uses.
const backwardBindings = (outputs: string[]) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> o: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
${outputs.map((name, i) => `@group(0) @binding(${6 + i}) var<storage, read_write> ${name}: array<f32>;`).join('\n')}
@group(0) @binding(${6 + outputs.length}) var<uniform> p: P;
${COMMON}
fn delta(ro: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < p.dim; d = d + 1u) { s = s + dout[ro + d] * o[ro + d]; }
  return s;
}
fn dOutDotV(ro: u32, vo: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < p.dim; d = d + 1u) { s = s + dout[ro + d] * v[vo + d]; }
  return s;
}
`;

/** dq: one thread per element of `q`. */
const BACKWARD_DQ = /* wgsl */ `${backwardBindings(['y'])}${MAIN_1D}
  if (i >= p.batch * p.heads * p.seqQ * p.dim) { return; }
  let row = i / p.dim;
  let d = i % p.dim;
  let qo = row * p.dim;
  let kv = kvBase(row);
  let visible = row % p.seqQ + p.seqK - p.seqQ + 1u;
  let dl = delta(qo);
  var acc = 0.0;
  for (var j = 0u; j < visible; j = j + 1u) {
    let ko = kv + j * p.dim;
    let prob = exp(p.scale * dotRows(qo, ko) - lse[row]);
    acc = acc + prob * (dOutDotV(qo, ko) - dl) * k[ko + d];
  }
  y[i] = p.scale * acc;
}`;

/** dk and dv: one thread per element of `k` and `v`, summing over the query heads of its group. */
const BACKWARD_DKV = /* wgsl */ `${backwardBindings(['dk', 'dv'])}${MAIN_1D}
  if (i >= p.batch * p.kvHeads * p.seqK * p.dim) { return; }
  let kvRow = i / p.dim;
  let d = i % p.dim;
  let j = kvRow % p.seqK;
  let bk = kvRow / p.seqK;
  let b = bk / p.kvHeads;
  let kh = bk % p.kvHeads;
  let ko = kvRow * p.dim;
  let shift = p.seqK - p.seqQ;
  let first = select(0u, j - shift, j > shift);
  var accK = 0.0;
  var accV = 0.0;
  for (var g = 0u; g < p.group; g = g + 1u) {
    let h = kh * p.group + g;
    for (var qi = first; qi < p.seqQ; qi = qi + 1u) {
      let row = (b * p.heads + h) * p.seqQ + qi;
      let qo = row * p.dim;
      let prob = exp(p.scale * dotRows(qo, ko) - lse[row]);
      accV = accV + prob * dout[qo + d];
      accK = accK + prob * (dOutDotV(qo, ko) - delta(qo)) * q[qo + d];
    }
  }
  dk[i] = p.scale * accK;
  dv[i] = accV;
}`;

function uniforms(g: AttentionGeometry): UniformValue[] {
  return [g.batch, g.heads, g.kvHeads, g.group, g.seqQ, g.seqK, g.dim, f32(g.scale)];
}

/** {@link Kernels.attention}. */
export function attention(ctx: KernelContext, q: DeviceTensor, k: DeviceTensor, v: DeviceTensor, options: AttentionOptions = {}): AttentionResult {
  const g = attentionGeometry(q, k, v, options);
  const buffers = [q, k, v].map((t) => ctx.buffer(t));
  const [out, ob] = ctx.output(q.shape, 'f32');
  const [lse, lb] = ctx.output(q.shape.slice(0, 3), 'f32');
  const threads = g.batch * g.heads * g.seqQ * Math.max(g.dim, 1);
  ctx.run(FORWARD, [...buffers, ob, lb], uniforms(g), groupsFor(threads));
  return { out, lse };
}

/** {@link Kernels.attentionBackward}. */
export function attentionBackward(
  ctx: KernelContext,
  q: DeviceTensor,
  k: DeviceTensor,
  v: DeviceTensor,
  out: DeviceTensor,
  lse: DeviceTensor,
  dOut: DeviceTensor,
  options: AttentionOptions = {},
): AttentionGrads {
  const g = attentionBackwardGeometry(q, k, v, out, lse, dOut, options);
  const inputs = [q, k, v, out, lse, dOut].map((t) => ctx.buffer(t));
  const [dq, dqb] = ctx.output(q.shape, 'f32');
  const [dk, dkb] = ctx.output(k.shape, 'f32');
  const [dv, dvb] = ctx.output(v.shape, 'f32');
  ctx.run(BACKWARD_DQ, [...inputs, dqb], uniforms(g), groupsFor(q.size));
  ctx.run(BACKWARD_DKV, [...inputs, dkb, dvb], uniforms(g), groupsFor(k.size));
  return { dq, dk, dv };
}
