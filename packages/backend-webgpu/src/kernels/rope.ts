import { ropeGeometry, type DeviceTensor } from '@lorafuse/core';
import { groupsFor, type KernelContext } from './context.js';
import { MAIN_1D } from './wgsl.js';

// One thread per pair (d, d + D/2) of one head vector.
function ropeShader(backward: boolean): string {
  const pair = backward
    ? `y[o + d] = x1 * c[t + d] + x2 * s[t + d + half];
  y[o + d + half] = x2 * c[t + d + half] - x1 * s[t + d];`
    : `y[o + d] = x1 * c[t + d] - x2 * s[t + d];
  y[o + d + half] = x2 * c[t + d + half] + x1 * s[t + d + half];`;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> c: array<f32>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
struct P { pairs: u32, heads: u32, seq: u32, dim: u32, perBatch: u32 }
@group(0) @binding(4) var<uniform> p: P;
${MAIN_1D}
  if (i >= p.pairs) { return; }
  let half = p.dim / 2u;
  let vec = i / half;
  let d = i % half;
  let pos = vec % p.seq;
  let batch = vec / (p.seq * p.heads);
  let o = vec * p.dim;
  let t = (select(0u, batch * p.seq, p.perBatch == 1u) + pos) * p.dim;
  let x1 = x[o + d];
  let x2 = x[o + d + half];
  ${pair}
}`;
}

const FORWARD = ropeShader(false);
const BACKWARD = ropeShader(true);

/** {@link Kernels.rope} and {@link Kernels.ropeBackward}. */
export function rope(ctx: KernelContext, kernel: 'rope' | 'ropeBackward', x: DeviceTensor, cos: DeviceTensor, sin: DeviceTensor): DeviceTensor {
  const g = ropeGeometry(kernel, x, cos, sin);
  const [xb, cb, sb] = [ctx.buffer(x), ctx.buffer(cos), ctx.buffer(sin)];
  const [out, y] = ctx.output(x.shape, 'f32');
  const pairs = (x.size / 2) | 0;
  ctx.run(kernel === 'rope' ? FORWARD : BACKWARD, [xb, cb, sb, y], [pairs, g.heads, g.seq, g.dim, g.tablesPerBatch ? 1 : 0], groupsFor(pairs));
  return out;
}
