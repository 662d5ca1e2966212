// Causal grouped-query attention, forward and backward. Dot products and
// row updates over the head dimension are f32x4 (a scalar tail handles any
// dimension); the softmax runs in f64.

/** `Σ_d x[d]·y[d]` over `dim` f32. */
function dot(x: usize, y: usize, dim: usize): f32 {
  let acc = f32x4.splat(0);
  let d: usize = 0;
  for (; d + 4 <= dim; d += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(x + (d << 2)), v128.load(y + (d << 2))));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; d < dim; d++) s += load<f32>(x + (d << 2)) * load<f32>(y + (d << 2));
  return s;
}

/** `acc[d] += factor · x[d]` over `dim` f32. */
function axpy(acc: usize, factor: f32, x: usize, dim: usize): void {
  const f = f32x4.splat(factor);
  let d: usize = 0;
  for (; d + 4 <= dim; d += 4) v128.store(acc + (d << 2), f32x4.add(v128.load(acc + (d << 2)), f32x4.mul(f, v128.load(x + (d << 2)))));
  for (; d < dim; d++) store<f32>(acc + (d << 2), load<f32>(acc + (d << 2)) + factor * load<f32>(x + (d << 2)));
}

/** Scaled scores of the query row at `qr` against the first `visible` key rows from `kr`, into `scores` (f64). */
function causalScores(qr: usize, kr: usize, visible: usize, dim: usize, scale: f64, scores: usize): void {
  for (let j: usize = 0; j < visible; j++) store<f64>(scores + (j << 3), scale * <f64>dot(qr, kr + ((j * dim) << 2), dim));
}

/** Byte offset of the key/value block that query row `row` (of `[B, H, Sq]`) reads. */
// @ts-ignore: decorator
@inline function kvOffset(row: usize, heads: usize, kvHeads: usize, group: usize, seqQ: usize, seqK: usize, dim: usize): usize {
  const bh = row / seqQ;
  return (((bh / heads) * kvHeads + (bh % heads) / group) * seqK * dim) << 2;
}

/**
 * Forward: `out` `[B, H, Sq, D]`, `lse` `[B, H, Sq]`, for query rows
 * `[row1, row2)` of `[B·H·Sq]` (each row is independent, so threads may
 * split them anywhere). `scratch` holds `seqK` f64 (the scores of one query).
 */
export function attention(
  q: usize, k: usize, v: usize, out: usize, lse: usize,
  batch: usize, heads: usize, kvHeads: usize, group: usize, seqQ: usize, seqK: usize, dim: usize, scale: f64, scratch: usize,
  row1: usize, row2: usize,
): void {
  const scores = scratch;
  if (row2 <= row1) return;
  memory.fill(out + ((row1 * dim) << 2), 0, ((row2 - row1) * dim) << 2);
  for (let row = row1; row < row2; row++) {
    const kvo = kvOffset(row, heads, kvHeads, group, seqQ, seqK, dim);
    const ro = (row * dim) << 2;
    const visible = row % seqQ + seqK - seqQ + 1;
    causalScores(q + ro, k + kvo, visible, dim, scale, scores);
    let max = -Infinity;
    for (let j: usize = 0; j < visible; j++) max = Math.max(max, load<f64>(scores + (j << 3)));
    let total: f64 = 0;
    for (let j: usize = 0; j < visible; j++) total += Math.exp(load<f64>(scores + (j << 3)) - max);
    const l = max + Math.log(total);
    store<f32>(lse + (row << 2), <f32>l);
    for (let j: usize = 0; j < visible; j++) {
      axpy(out + ro, <f32>Math.exp(load<f64>(scores + (j << 3)) - l), v + kvo + ((j * dim) << 2), dim);
    }
  }
}

/**
 * Backward for query rows `[row1, row2)`, accumulating straight into the
 * zeroed gradients. dK and dV of a key/value block sum over the `group·Sq`
 * query rows that read it, so both bounds must be multiples of `group·Sq`:
 * a thread then owns whole blocks and adds into them in the same order as
 * one thread would. `scratch` holds `seqK` f64 (one query's scores).
 */
export function attentionBackward(
  q: usize, k: usize, v: usize, out: usize, lse: usize, dOut: usize, dq: usize, dk: usize, dv: usize,
  batch: usize, heads: usize, kvHeads: usize, group: usize, seqQ: usize, seqK: usize, dim: usize, scale: f64, scratch: usize,
  row1: usize, row2: usize,
): void {
  const scores = scratch;
  if (row2 <= row1) return;
  const rowsPerBlock = group * seqQ;
  const blockBytes = (seqK * dim) << 2;
  const block1 = row1 / rowsPerBlock;
  const blocks = (row2 - row1) / rowsPerBlock;
  memory.fill(dq + ((row1 * dim) << 2), 0, ((row2 - row1) * dim) << 2);
  memory.fill(dk + block1 * blockBytes, 0, blocks * blockBytes);
  memory.fill(dv + block1 * blockBytes, 0, blocks * blockBytes);
  for (let row = row1; row < row2; row++) {
    const kvo = kvOffset(row, heads, kvHeads, group, seqQ, seqK, dim);
    const ro = (row * dim) << 2;
    const visible = row % seqQ + seqK - seqQ + 1;
    causalScores(q + ro, k + kvo, visible, dim, scale, scores);
    const delta = <f64>dot(dOut + ro, out + ro, dim);
    const l = <f64>load<f32>(lse + (row << 2));
    for (let j: usize = 0; j < visible; j++) {
      const jo = kvo + ((j * dim) << 2);
      const p = Math.exp(load<f64>(scores + (j << 3)) - l);
      axpy(dv + jo, <f32>p, dOut + ro, dim);
      const ds = <f32>(p * (<f64>dot(dOut + ro, v + jo, dim) - delta) * scale);
      axpy(dq + ro, ds, k + jo, dim);
      axpy(dk + jo, ds, q + ro, dim);
    }
  }
}
