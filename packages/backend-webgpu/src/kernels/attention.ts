import {
  attentionBackwardGeometry,
  attentionGeometry,
  type AttentionGeometry,
  type AttentionLayout,
  type AttentionGrads,
  type AttentionOptions,
  type AttentionResult,
  type DeviceTensor,
} from '@lorafuse/core';
import { f32, groupsFor, type KernelContext, type UniformValue } from './context.js';
import { cachedShader } from './wgsl.js';

// Causal GQA attention with one thread per row: a query row for the forward
// and dq, a key row for dk/dv. Each thread keeps its row and accumulators in
// private arrays sized by the head dimension (compiled in, one pipeline per
// D), so every score q·k is computed once per kernel and no thread repeats
// another's work. The forward uses an online softmax; the backward takes P
// from the forward's lse. dk/dv sum over the query heads of a KV group inside
// one thread, so the result is deterministic without float atomics. CPU
// adapters (lavapipe) run each workgroup on one thread, so the workgroups are
// small enough to spread over every core even at short sequences. A sliding
// window bounds each loop below as the causal mask bounds it above.

/** Threads per workgroup: small, so that 64-token sequences still fill several CPU threads on lavapipe. */
const THREADS = 32;

/** The uniforms of every kernel: the geometry, the score scale and the window (at most `seqK`). */
const UNIFORMS = /* wgsl */ `
struct P { batch: u32, heads: u32, kvHeads: u32, group: u32, seqQ: u32, seqK: u32, dim: u32, scale: f32, window: u32 }
`;

/**
 * A row of the head dimension is `D` elements of type `E`: vec4 when the head
 * dimension is a multiple of 4 (a quarter of the loads and their bounds
 * checks), f32 otherwise. `dotE` is the dot product of two elements.
 */
function header(dim: number): string {
  const wide = dim % 4 === 0 && dim > 0;
  const width = wide ? dim / 4 : dim;
  return /* wgsl */ `
alias E = ${wide ? 'vec4f' : 'f32'};
const D = ${width}u;
alias Row = array<E, ${Math.max(width, 1)}>;
fn dotE(a: E, b: E) -> f32 { return ${wide ? 'dot(a, b)' : 'a * b'}; }
`;
}

/** The entry point: one thread per row, `r` the row index, threads past `rows` return. */
const main = (rows: string) => /* wgsl */ `
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = (wid.y * nwg.x + wid.x) * ${THREADS}u + lid;
  if (r >= ${rows}) { return; }`;

/**
 * Element offsets (in units of E) in either layout: `queryAt(row)` of query
 * row `row` of [B, H, Sq] flattened, `keyAt(bk, j)` of key `j` of KV head
 * `bk` of [B, KV] flattened, and `kvHead(row)`, the KV head a query row reads;
 * `keyEnd(row)` and `keyStart(end)`, the keys `[start, end)` a query row sees.
 */
const offsets = (layout: AttentionLayout) => /* wgsl */ `
fn keyEnd(row: u32) -> u32 { return row % p.seqQ + p.seqK - p.seqQ + 1u; }
fn keyStart(end: u32) -> u32 { return select(0u, end - p.window, end > p.window); }
fn kvHead(row: u32) -> u32 {
  let bh = row / p.seqQ;
  return (bh / p.heads) * p.kvHeads + (bh % p.heads) / p.group;
}
fn queryAt(row: u32) -> u32 {
  ${
    layout === 'bhsd'
      ? 'return row * D;'
      : `let bh = row / p.seqQ;
  return (((bh / p.heads) * p.seqQ + row % p.seqQ) * p.heads + bh % p.heads) * D;`
  }
}
fn keyAt(bk: u32, j: u32) -> u32 {
  ${layout === 'bhsd' ? 'return (bk * p.seqK + j) * D;' : 'return (((bk / p.kvHeads) * p.seqK + j) * p.kvHeads + bk % p.kvHeads) * D;'}
}
`;

/** Storage bindings in order, each `name: access type` (access `read` or `read_write`), then the uniforms `p`. */
function bindings(specs: readonly string[]): string {
  const storage = specs.map((spec, i) => {
    const [name, access, type] = spec.split(/:? /);
    return `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${type}>;`;
  });
  return [...storage, `@group(0) @binding(${specs.length}) var<uniform> p: P;`].join('\n');
}

/** Rows of the query-side kernels. */
const QUERY_ROWS = 'p.batch * p.heads * p.seqQ';

/** Everything before a kernel's body: bindings, uniforms, row types, and `main` with the row index `r` below `rows`. */
const kernel = (dim: number, layout: AttentionLayout, specs: readonly string[], rows: string) => `
${bindings(specs)}${UNIFORMS}${header(dim)}${offsets(layout)}${main(rows)}`;

const forward = cachedShader(
  (
    dim: number,
    layout: AttentionLayout,
  ) => /* wgsl */ `${kernel(dim, layout, ['q: read E', 'k: read E', 'v: read E', 'out: read_write E', 'lse: read_write f32'], QUERY_ROWS)}
  let qo = queryAt(r);
  let kh = kvHead(r);
  let end = keyEnd(r);
  var qr: Row;
  var acc: Row;
  for (var d = 0u; d < D; d++) { qr[d] = q[qo + d] * p.scale; acc[d] = E(); }
  var m = -0x1.fffffep+127f;
  var total = 0.0;
  for (var j = keyStart(end); j < end; j++) {
    let ko = keyAt(kh, j);
    var s = 0.0;
    for (var d = 0u; d < D; d++) { s += dotE(qr[d], k[ko + d]); }
    if (s > m) {
      // A new maximum rescales what was summed so far (rare after the first keys).
      let c = exp(m - s);
      total *= c;
      for (var d = 0u; d < D; d++) { acc[d] *= c; }
      m = s;
    }
    let e = exp(s - m);
    total += e;
    for (var d = 0u; d < D; d++) { acc[d] += e * v[ko + d]; }
  }
  let inv = 1.0 / total;
  for (var d = 0u; d < D; d++) { out[qo + d] = acc[d] * inv; }
  lse[r] = m + log(total);
}`,
);

/** The inputs of both gradient kernels, δ included. */
const BACKWARD_INPUTS = ['q: read E', 'k: read E', 'v: read E', 'lse: read f32', 'dout: read E', 'delta: read f32'];

/** δ = rowsum(dOut ⊙ out) of every query row, read by both gradient kernels. */
const delta = cachedShader(
  (dim: number, layout: AttentionLayout) => /* wgsl */ `${kernel(dim, layout, ['o: read E', 'dout: read E', 'delta: read_write f32'], QUERY_ROWS)}
  let qo = queryAt(r);
  var s = 0.0;
  for (var d = 0u; d < D; d++) { s += dotE(dout[qo + d], o[qo + d]); }
  delta[r] = s;
}`,
);

/** dq: one thread per query row, over its visible keys. */
const backwardDq = cachedShader(
  (dim: number, layout: AttentionLayout) => /* wgsl */ `${kernel(dim, layout, [...BACKWARD_INPUTS, 'dq: read_write E'], QUERY_ROWS)}
  let qo = queryAt(r);
  let kh = kvHead(r);
  let end = keyEnd(r);
  let l = lse[r];
  let dl = delta[r];
  var qr: Row;
  var dr: Row;
  var acc: Row;
  for (var d = 0u; d < D; d++) { qr[d] = q[qo + d] * p.scale; dr[d] = dout[qo + d]; acc[d] = E(); }
  for (var j = keyStart(end); j < end; j++) {
    let ko = keyAt(kh, j);
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < D; d++) { s += dotE(qr[d], k[ko + d]); dp += dotE(dr[d], v[ko + d]); }
    let ds = exp(s - l) * (dp - dl);
    for (var d = 0u; d < D; d++) { acc[d] += ds * k[ko + d]; }
  }
  for (var d = 0u; d < D; d++) { dq[qo + d] = p.scale * acc[d]; }
}`,
);

/** dk and dv: one thread per key row, over the query rows of every head in its group that see it (from the causal edge to the window's). */
const backwardDkv = cachedShader(
  (
    dim: number,
    layout: AttentionLayout,
  ) => /* wgsl */ `${kernel(dim, layout, [...BACKWARD_INPUTS, 'dk: read_write E', 'dv: read_write E'], 'p.batch * p.kvHeads * p.seqK')}
  let j = r % p.seqK;
  let bk = r / p.seqK;
  let ko = keyAt(bk, j);
  let shift = p.seqK - p.seqQ;
  let first = select(0u, j - shift, j > shift);
  let reach = j + p.window;
  let last = select(0u, min(p.seqQ, reach - shift), reach > shift);
  var kr: Row;
  var vr: Row;
  var accK: Row;
  var accV: Row;
  for (var d = 0u; d < D; d++) { kr[d] = k[ko + d] * p.scale; vr[d] = v[ko + d]; accK[d] = E(); accV[d] = E(); }
  for (var g = 0u; g < p.group; g++) {
    // Query heads of this KV head are consecutive: (b, kh·group + g).
    let rows = ((bk / p.kvHeads) * p.heads + (bk % p.kvHeads) * p.group + g) * p.seqQ;
    for (var i = first; i < last; i++) {
      let row = rows + i;
      let qo = queryAt(row);
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < D; d++) { s += dotE(q[qo + d], kr[d]); dp += dotE(dout[qo + d], vr[d]); }
      let prob = exp(s - lse[row]);
      let ds = prob * (dp - delta[row]);
      for (var d = 0u; d < D; d++) { accV[d] += prob * dout[qo + d]; accK[d] += ds * q[qo + d]; }
    }
  }
  for (var d = 0u; d < D; d++) { dk[ko + d] = p.scale * accK[d]; dv[ko + d] = accV[d]; }
}`,
);

function uniforms(g: AttentionGeometry): UniformValue[] {
  return [g.batch, g.heads, g.kvHeads, g.group, g.seqQ, g.seqK, g.dim, f32(g.scale), g.window];
}

/** {@link Kernels.attention}. */
export function attention(ctx: KernelContext, q: DeviceTensor, k: DeviceTensor, v: DeviceTensor, options: AttentionOptions = {}): AttentionResult {
  const g = attentionGeometry(q, k, v, options);
  const buffers = [q, k, v].map((t) => ctx.buffer(t));
  const [out, ob] = ctx.output(q.shape, 'f32');
  const [lse, lb] = ctx.output([g.batch, g.heads, g.seqQ], 'f32');
  ctx.run(forward(g.dim, g.layout), [...buffers, ob, lb], uniforms(g), groupsFor(g.batch * g.heads * g.seqQ, THREADS));
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
  const inputs = [q, k, v, lse, dOut].map((t) => ctx.buffer(t));
  const [dq, dqb] = ctx.output(q.shape, 'f32');
  const [dk, dkb] = ctx.output(k.shape, 'f32');
  const [dv, dvb] = ctx.output(v.shape, 'f32');
  const queryRows = g.batch * g.heads * g.seqQ;
  const deltas = ctx.scratch(Math.max(4, 4 * queryRows));
  ctx.run(delta(g.dim, g.layout), [ctx.buffer(out), ctx.buffer(dOut), deltas], uniforms(g), groupsFor(queryRows, THREADS));
  ctx.run(backwardDq(g.dim, g.layout), [...inputs, deltas, dqb], uniforms(g), groupsFor(queryRows, THREADS));
  ctx.run(backwardDkv(g.dim, g.layout), [...inputs, deltas, dkb, dvb], uniforms(g), groupsFor(g.batch * g.kvHeads * g.seqK, THREADS));
  ctx.drop(deltas);
  return { dq, dk, dv };
}
