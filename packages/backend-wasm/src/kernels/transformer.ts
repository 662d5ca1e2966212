import {
  attentionBackwardGeometry,
  attentionGeometry,
  crossEntropyBackwardGeometry,
  crossEntropyGeometry,
  embeddingBackwardGeometry,
  embeddingGeometry,
  rmsNormGeometry,
  ropeGeometry,
  type AttentionGeometry,
  type AttentionGrads,
  type AttentionOptions,
  type AttentionResult,
  type CrossEntropyResult,
  type DeviceTensor,
  type RmsNormGrads,
} from '@lorafuse/core';
import { FLOAT_CODES, type WasmContext } from '../context.js';
import { splitRange } from '../threads/split.js';
import { parallelRange, UNIT_COST } from './parallel-range.js';

/** Bytes of an f32 and of an f64. */
const F32 = 4;
const F64 = 8;
/** Hugging Face's ignored target. */
const IGNORE_INDEX = -100;
/**
 * Rows per partial sum of RMSNorm's weight gradient. Fixed, not derived
 * from the thread count, so the partial sums, and their total, are the
 * same however the rows are split.
 */
const RMS_NORM_BLOCK_ROWS = 32;

/** Keys per packed panel in assembly/attention.ts. */
const ATTENTION_PANEL = 8;
/** Query rows per block in assembly/attention.ts. */
const ATTENTION_ROWS = 4;
/**
 * Most scratch bytes one attention call takes for all its parts together:
 * each part packs whole key/value blocks, about 1 MiB per part at 2 048
 * keys, so long sequences on many threads get fewer parts instead.
 */
const ATTENTION_SCRATCH_BUDGET = 32 << 20;

/**
 * Scratch bytes of one part (the layout in assembly/attention.ts): the
 * packed key panels and four score rows, twice over for the backward.
 */
function attentionScratchBytes(kernel: 'attention' | 'attentionBackward', seqK: number, dim: number): number {
  const keys = Math.ceil(seqK / ATTENTION_PANEL) * ATTENTION_PANEL;
  return keys * (dim + ATTENTION_ROWS) * 4 * (kernel === 'attention' ? 1 : 2);
}

/** Parts for `work`, no more than {@link ATTENTION_SCRATCH_BUDGET} allows at `bytes` of scratch each. */
function attentionPartCount(partsFor: (work: number) => number, work: number, bytes: number): number {
  return Math.max(1, Math.min(partsFor(work), Math.floor(ATTENTION_SCRATCH_BUDGET / bytes)));
}

/** How an attention call (forward or backward) is cut into ranges of query rows, and each range's scratch bytes. */
export function attentionSplit(
  kernel: 'attention' | 'attentionBackward',
  g: AttentionGeometry,
  partsFor: (work: number) => number,
): { readonly bytes: number; readonly ranges: ReadonlyArray<readonly [number, number]> } {
  const rows = g.batch * g.heads * g.seqQ;
  const bytes = attentionScratchBytes(kernel, g.seqK, g.dim);
  if (kernel === 'attention') return { bytes, ranges: splitRange(rows, attentionPartCount(partsFor, rows * g.window * g.dim, bytes)) };
  // dK and dV of a key/value block sum over the query rows of its group:
  // each thread owns whole blocks, so those sums keep one order.
  return { bytes, ranges: splitRange(rows, attentionPartCount(partsFor, 2 * rows * g.window * g.dim, bytes), g.group * g.seqQ) };
}

/** Blocks of RMSNorm's weight-gradient partial sums (float64, one row of `dim` each). */
export const rmsNormBlocks = (rows: number) => Math.ceil(rows / RMS_NORM_BLOCK_ROWS);

/** Runs attention forward or backward over `ranges` of query rows, one part per thread, each with its own `bytes` of scratch. */
function attentionParts(
  ctx: WasmContext,
  kernel: 'attention' | 'attentionBackward',
  args: readonly number[],
  bytes: number,
  ranges: ReadonlyArray<readonly [number, number]>,
): void {
  ctx.withScratch(bytes * ranges.length, (scratch) =>
    ctx.parallel(
      kernel,
      ranges.map((range, i) => [...args, scratch + i * bytes, ...range]),
    ),
  );
}

/** {@link Kernels.rmsNorm}. */
export function rmsNorm(ctx: WasmContext, x: DeviceTensor, weight: DeviceTensor, eps: number): DeviceTensor {
  const { rows, dim } = rmsNormGeometry(x, weight, eps);
  const [px, pw] = [ctx.address(x), ctx.address(weight)];
  const out = ctx.output(x.shape, 'f32');
  parallelRange(ctx, 'rmsNorm', rows, dim * UNIT_COST.float64, 1, (i, j) => [px + i * dim * F32, pw, out.address + i * dim * F32, j - i, dim, eps]);
  return out.handle;
}

/** {@link Kernels.rmsNormBackward}. */
export function rmsNormBackward(ctx: WasmContext, x: DeviceTensor, weight: DeviceTensor, dy: DeviceTensor, eps: number): RmsNormGrads {
  const { rows, dim } = rmsNormGeometry(x, weight, eps, dy);
  const [px, pw, pd] = [ctx.address(x), ctx.address(weight), ctx.address(dy)];
  const dx = ctx.output(x.shape, 'f32');
  const dWeight = ctx.output([dim], 'f32');
  const blocks = rmsNormBlocks(rows);
  ctx.withScratch(blocks * dim * F64, (partials) => {
    parallelRange(ctx, 'rmsNormBackward', rows, dim * UNIT_COST.float64, RMS_NORM_BLOCK_ROWS, (i, j) => {
      const offset = i * dim * F32;
      return [px + offset, pw, pd + offset, dx.address + offset, j - i, dim, eps, RMS_NORM_BLOCK_ROWS, partials + (i / RMS_NORM_BLOCK_ROWS) * dim * F64];
    });
    ctx.exports.rmsNormWeightGrad(partials, blocks, dim, dWeight.address);
  });
  return { dx: dx.handle, dWeight: dWeight.handle };
}

/** {@link Kernels.rope} and {@link Kernels.ropeBackward}. */
export function rope(ctx: WasmContext, kernel: 'rope' | 'ropeBackward', x: DeviceTensor, cos: DeviceTensor, sin: DeviceTensor): DeviceTensor {
  const { batch, heads, seq, dim, tablesPerBatch } = ropeGeometry(kernel, x, cos, sin);
  const [px, pc, ps] = [ctx.address(x), ctx.address(cos), ctx.address(sin)];
  const out = ctx.output(x.shape, 'f32');
  // Split by batch entries (the model's sequence-first call has one per token), each with its own tables when they are per batch.
  const plane = heads * seq * dim;
  const table = tablesPerBatch ? seq * dim * F32 : 0;
  parallelRange(ctx, 'rope', batch, plane * UNIT_COST.float64, 1, (i, j) => [
    px + i * plane * F32,
    pc + i * table,
    ps + i * table,
    out.address + i * plane * F32,
    j - i,
    heads,
    seq,
    dim,
    +tablesPerBatch,
    +(kernel === 'ropeBackward'),
  ]);
  return out.handle;
}

/** {@link Kernels.attention}. */
export function attention(ctx: WasmContext, q: DeviceTensor, k: DeviceTensor, v: DeviceTensor, options: AttentionOptions = {}): AttentionResult {
  const g = attentionGeometry(q, k, v, options);
  const [pq, pk, pv] = [ctx.address(q), ctx.address(k), ctx.address(v)];
  const out = ctx.output(q.shape, 'f32');
  const lse = ctx.output([g.batch, g.heads, g.seqQ], 'f32');
  // Query rows are independent: split anywhere.
  const { bytes, ranges } = attentionSplit('attention', g, ctx.partsFor);
  attentionParts(
    ctx,
    'attention',
    [pq, pk, pv, out.address, lse.address, g.batch, g.heads, g.kvHeads, g.group, g.seqQ, g.seqK, g.dim, g.scale, g.window, +(g.layout === 'bshd')],
    bytes,
    ranges,
  );
  return { out: out.handle, lse: lse.handle };
}

/** {@link Kernels.attentionBackward}. */
export function attentionBackward(
  ctx: WasmContext,
  q: DeviceTensor,
  k: DeviceTensor,
  v: DeviceTensor,
  out: DeviceTensor,
  lse: DeviceTensor,
  dOut: DeviceTensor,
  options: AttentionOptions = {},
): AttentionGrads {
  const g = attentionBackwardGeometry(q, k, v, out, lse, dOut, options);
  const inputs = [q, k, v, out, lse, dOut].map((t) => ctx.address(t));
  const dq = ctx.output(q.shape, 'f32');
  const dk = ctx.output(k.shape, 'f32');
  const dv = ctx.output(v.shape, 'f32');
  const { bytes, ranges } = attentionSplit('attentionBackward', g, ctx.partsFor);
  attentionParts(
    ctx,
    'attentionBackward',
    [...inputs, dq.address, dk.address, dv.address, g.batch, g.heads, g.kvHeads, g.group, g.seqQ, g.seqK, g.dim, g.scale, g.window, +(g.layout === 'bshd')],
    bytes,
    ranges,
  );
  return { dq: dq.handle, dk: dk.handle, dv: dv.handle };
}

/** {@link Kernels.crossEntropy}. */
export function crossEntropy(ctx: WasmContext, logits: DeviceTensor, targets: DeviceTensor): CrossEntropyResult {
  const { rows, vocab, shape } = crossEntropyGeometry(logits, targets);
  const [pl, pt] = [ctx.address(logits), ctx.address(targets)];
  const loss = ctx.output([], 'f32');
  const lse = ctx.output(shape, 'f32');
  ctx.withScratch(rows * F64, (terms) => {
    parallelRange(ctx, 'crossEntropyRows', rows, vocab * UNIT_COST.exp, 1, (i, j) => [
      pl + i * vocab * F32,
      pt + i * F32,
      j - i,
      vocab,
      lse.address + i * F32,
      terms + i * F64,
    ]);
    ctx.exports.crossEntropyMean(pt, rows, terms, loss.address);
  });
  return { loss: loss.handle, lse: lse.handle };
}

/** {@link Kernels.crossEntropyBackward}. */
export function crossEntropyBackward(ctx: WasmContext, logits: DeviceTensor, targets: DeviceTensor, lse: DeviceTensor, scale: number): DeviceTensor {
  const { rows, vocab } = crossEntropyBackwardGeometry(logits, targets, lse, scale);
  const [pl, pt, ps] = [ctx.address(logits), ctx.address(targets), ctx.address(lse)];
  const out = ctx.output(logits.shape, 'f32');
  // Every part scales by the whole batch's count of counted rows.
  const counted = new Int32Array(ctx.exports.memory.buffer, pt, rows).reduce((n, t) => (t === IGNORE_INDEX ? n : n + 1), 0);
  const factor = scale / counted;
  parallelRange(ctx, 'crossEntropyBackward', rows, vocab * UNIT_COST.exp, 1, (i, j) => [
    pl + i * vocab * F32,
    pt + i * F32,
    ps + i * F32,
    j - i,
    vocab,
    factor,
    out.address + i * vocab * F32,
  ]);
  return out.handle;
}

/** {@link Kernels.embedding}. */
export function embedding(ctx: WasmContext, ids: DeviceTensor, table: DeviceTensor): DeviceTensor {
  const { count, vocab, dim, shape } = embeddingGeometry(ids, table);
  const [pi, pt] = [ctx.address(ids), ctx.address(table)];
  const out = ctx.output(shape, 'f32');
  ctx.exports.embedding(pi, count, pt, FLOAT_CODES[table.dtype], vocab, dim, out.address);
  return out.handle;
}

/** {@link Kernels.embeddingBackward}. */
export function embeddingBackward(ctx: WasmContext, ids: DeviceTensor, dy: DeviceTensor, vocabSize: number): DeviceTensor {
  const { count, vocab, dim, shape } = embeddingBackwardGeometry(ids, dy, vocabSize);
  const [pi, pd] = [ctx.address(ids), ctx.address(dy)];
  const out = ctx.output(shape, 'f32');
  ctx.exports.embeddingBackward(pi, count, pd, vocab, dim, out.address);
  return out.handle;
}
