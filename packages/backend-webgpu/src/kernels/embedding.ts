import { embeddingBackwardGeometry, embeddingGeometry, type DeviceTensor } from '@lorafuse/core';
import { groupsFor, type KernelContext } from './context.js';
import { HALF_TO_F32, MAIN_1D, floatBitsLoader, cachedShader } from './wgsl.js';

// The gather copies bits (u32), so the rows come out bit-exact whatever the
// compiler does with floats.
const gatherShader = cachedShader((dtype: DeviceTensor['dtype']): string => {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;
struct P { n: u32, vocab: u32, dim: u32 }
@group(0) @binding(3) var<uniform> p: P;
${HALF_TO_F32}${floatBitsLoader('table', dtype)}${MAIN_1D}
  if (i >= p.n) { return; }
  let id = ids[i / p.dim];
  if (id < 0 || u32(id) >= p.vocab) { y[i] = 0x7fc00000u; return; }
  y[i] = tableBits(u32(id) * p.dim + i % p.dim);
}`;
});

/** {@link Kernels.embedding}. */
export function embedding(ctx: KernelContext, ids: DeviceTensor, table: DeviceTensor): DeviceTensor {
  const g = embeddingGeometry(ids, table);
  const [ib, tb] = [ctx.buffer(ids), ctx.buffer(table)];
  const [out, y] = ctx.output(g.shape, 'f32');
  const n = g.count * g.dim;
  ctx.run(gatherShader(table.dtype), [ib, tb, y], [n, g.vocab, g.dim], groupsFor(n));
  return out;
}

// Deterministic scatter-add: one thread per table entry (row v, column d)
// adds, in id order, the gradient rows whose id is v. No atomics, so the
// result does not depend on scheduling.
const SCATTER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
struct P { count: u32, vocab: u32, dim: u32 }
@group(0) @binding(3) var<uniform> p: P;
${MAIN_1D}
  if (i >= p.vocab * p.dim) { return; }
  let v = i32(i / p.dim);
  let d = i % p.dim;
  var s = 0.0;
  for (var r = 0u; r < p.count; r = r + 1u) {
    if (ids[r] == v) { s = s + dy[r * p.dim + d]; }
  }
  y[i] = s;
}`;

/** {@link Kernels.embeddingBackward}. */
export function embeddingBackward(ctx: KernelContext, ids: DeviceTensor, dy: DeviceTensor, vocabSize: number): DeviceTensor {
  const g = embeddingBackwardGeometry(ids, dy, vocabSize);
  const [ib, gb] = [ctx.buffer(ids), ctx.buffer(dy)];
  const [out, y] = ctx.output(g.shape, 'f32');
  ctx.run(SCATTER, [ib, gb, y], [g.count, g.vocab, g.dim], groupsFor(g.vocab * g.dim));
  return out;
}
