import { loraImportanceGeometry, type DeviceTensor, type LoraImportanceResult } from '@lorafuse/core';
import { groupsFor, type KernelContext } from './context.js';
import { MAIN_1D } from './wgsl.js';

// W = B·A is never stored: each thread rebuilds the entries of W it needs
// (r products each) and takes their signs.
const BINDINGS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> n: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
struct P { rank: u32, inF: u32, outF: u32 }
@group(0) @binding(4) var<uniform> p: P;
fn signW(i: u32, j: u32) -> f32 {
  var w = 0.0;
  for (var k = 0u; k < p.rank; k = k + 1u) { w = w + b[i * p.rank + k] * a[k * p.inF + j]; }
  return sign(w);
}
`;

/** I(A_kj) = n_j · |Σ_i sign(W_ij) · B_ik|, one thread per (k, j). */
const SCORE_A = /* wgsl */ `${BINDINGS}${MAIN_1D}
  if (i >= p.rank * p.inF) { return; }
  let k = i / p.inF;
  let j = i % p.inF;
  var s = 0.0;
  for (var r = 0u; r < p.outF; r = r + 1u) { s = s + signW(r, j) * b[r * p.rank + k]; }
  y[i] = n[j] * abs(s);
}`;

/** I(B_ik) = |Σ_j sign(W_ij) · A_kj · n_j|, one thread per (i, k). */
const SCORE_B = /* wgsl */ `${BINDINGS}${MAIN_1D}
  if (i >= p.outF * p.rank) { return; }
  let row = i / p.rank;
  let k = i % p.rank;
  var s = 0.0;
  for (var j = 0u; j < p.inF; j = j + 1u) { s = s + signW(row, j) * a[k * p.inF + j] * n[j]; }
  y[i] = abs(s);
}`;

/** {@link Kernels.loraImportance}. */
export function loraImportance(ctx: KernelContext, a: DeviceTensor, b: DeviceTensor, n: DeviceTensor): LoraImportanceResult {
  const g = loraImportanceGeometry(a, b, n);
  const inputs = [a, b, n].map((t) => ctx.buffer(t));
  const [scoreA, ya] = ctx.output(a.shape, 'f32');
  const [scoreB, yb] = ctx.output(b.shape, 'f32');
  const sizes = [g.rank, g.inFeatures, g.outFeatures];
  ctx.run(SCORE_A, [...inputs, ya], sizes, groupsFor(a.size));
  ctx.run(SCORE_B, [...inputs, yb], sizes, groupsFor(b.size));
  return { a: scoreA, b: scoreB };
}
