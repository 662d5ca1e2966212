import { loraLinearGeometry, matmulGeometry, type DeviceTensor, type MatmulGeometry, type MatmulOptions } from '@lorafuse/core';
import { blockBytes } from '../arena.js';
import { FLOAT_CODES, type WasmContext } from '../context.js';
import { DIRECT_PANELS, PANEL_COLUMNS, splitProduct, splitRange, TILE_ROWS, type ProductTile } from '../threads/split.js';

/** Floats of the module's packing buffers (assembly/matmul.ts): its constants MR, NR, MC and KC. */
const MR = 4;
const NR = PANEL_COLUMNS;
const MC = 96;
const KC = 256;
/** Floats of op(A) `m × k` packed whole (`packedAFloats` of the module). */
export const packedAFloats = (m: number, k: number) => Math.ceil(m / MR) * MR * k;
/** Floats of op(B) `k × n` packed into whole panels (`packedBFloats` of the module). */
export const packedBFloats = (k: number, n: number) => Math.ceil(n / NR) * NR * k;
/** Floats of scratch one matmul call over `n` columns needs (`matmulScratchFloats` of the module). */
export const matmulScratchFloats = (k: number, n: number) => packedBFloats(k, n) + MC * KC + MR * NR;

/**
 * Most bytes of packed panels of B one product call packs for all its
 * parts together (and about what a shared packed A takes): a product with
 * more, such as an LM head of 151 936 × 896 (544 MB as f32 panels), runs as
 * several calls over blocks of columns of C, or of the reduction when it
 * is long (the LM head's input gradient), so that no call widens a whole
 * large weight to f32.
 */
export const PACK_BUDGET_BYTES = 16 * 2 ** 20;

/** One call of a product: the columns `[c0, c1)` of C and the reduction terms `[k0, k1)` it covers, its split and its scratch. */
interface ProductBlock {
  readonly c0: number;
  readonly c1: number;
  readonly k0: number;
  readonly k1: number;
  /** Tiles of the block's columns (relative to `c0`). */
  readonly tiles: readonly ProductTile[];
  readonly shareA: boolean;
  readonly shareB: boolean;
  /** Bytes of the shared packed A and B (0 when not shared), then each part's own scratch. */
  readonly aBytes: number;
  readonly bBytes: number;
  readonly partBytes: readonly number[];
}

/** How a product is cut into calls, and each call across threads. */
interface ProductLayout {
  readonly g: ProductGeometry;
  /** In order: for each block of columns, its blocks of the reduction, ascending. */
  readonly blocks: readonly ProductBlock[];
}

/** The blocks of columns and of the reduction a product runs in, each packing at most {@link PACK_BUDGET_BYTES} of B. */
function productBlocks(g: ProductGeometry, threads: number): Array<readonly [number, number, number, number]> {
  const budget = PACK_BUDGET_BYTES / 4;
  const { k, n } = g;
  if (packedBFloats(k, n) <= budget) return [[0, n, 0, k]];
  // Columns per block at the full reduction, but enough panels for every thread.
  const fewest = Math.min(n, PANEL_COLUMNS * 4 * threads);
  let cols = Math.min(n, Math.max(fewest, Math.floor(budget / k / PANEL_COLUMNS) * PANEL_COLUMNS));
  let span = k;
  if (packedBFloats(k, cols) > budget) {
    // A long reduction: blocks of whole KC blocks of it, as wide as the budget allows.
    cols = Math.min(n, Math.max(PANEL_COLUMNS, Math.floor(budget / KC / PANEL_COLUMNS) * PANEL_COLUMNS));
    span = Math.max(KC, Math.floor(budget / packedBFloats(1, cols) / KC) * KC);
  }
  const blocks: Array<readonly [number, number, number, number]> = [];
  for (let c0 = 0; c0 < n; c0 += cols) for (let k0 = 0; k0 < k; k0 += span) blocks.push([c0, Math.min(n, c0 + cols), k0, Math.min(k, k0 + span)]);
  return blocks;
}

/** The calls of a product, each split into parts, and their scratch: what {@link product} allocates, for the kernel and for memory plans. */
export function productLayout(geometry: ProductGeometry, transA: boolean, partsFor: (work: number) => number, threads: number): ProductLayout {
  const g = foldBatch(geometry, transA);
  const blocks = productBlocks(g, threads).map(([c0, c1, k0, k1]): ProductBlock => {
    const block = { ...g, n: c1 - c0, k: k1 - k0 };
    const tiles = splitProduct(block.m, block.k, block.n, partsFor(g.batch * g.m * block.n * Math.max(block.k, 1)), threads);
    // Parts would each pack all of the operand they share (A for column
    // parts, B for row parts): the threads pack it once, split, and every
    // part reads that copy.
    const shareA = sharesPackedA(block, tiles);
    const shareB = c1 - c0 === g.n && sharesPackedB(block, tiles);
    return {
      c0,
      c1,
      k0,
      k1,
      tiles,
      shareA,
      shareB,
      aBytes: shareA ? packedAFloats(block.m, block.k) * 4 : 0,
      bBytes: shareB ? packedBFloats(block.k, block.n) * 4 : 0,
      partBytes: tiles.map(([, , j1, j2]) => matmulScratchFloats(block.k, shareB ? 0 : j2 - j1) * 4),
    };
  });
  return { g, blocks };
}

/** Scratch bytes of a product: the most any of its calls takes (shared packings and every part's own). */
export function productScratchBytes(layout: ProductLayout): number {
  return Math.max(...layout.blocks.map((b) => b.aBytes + b.bBytes + b.partBytes.reduce((x, y) => x + y, 0)));
}

/**
 * Runs the module's matmul in the calls of {@link productLayout}, each
 * split across threads into tiles of C by {@link splitProduct}. Every
 * element is computed the same way for any split: the reduction is cut
 * only at the module's KC blocks, which it sums afresh and adds to C in k
 * order either way, so the blocks and the thread count change no bit.
 */
function product(
  ctx: WasmContext,
  a: number,
  b: number,
  c: number,
  bDtype: number,
  geometry: ProductGeometry,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  const { g, blocks } = productLayout(geometry, transA, ctx.partsFor, ctx.threads);
  for (const block of blocks) {
    const { c0, k0, k1, tiles, shareA, shareB, aBytes, bBytes, partBytes } = block;
    const adds = accumulate || k0 > 0;
    ctx.withScratch(aBytes + bBytes + partBytes.reduce((x, y) => x + y, 0), (base) => {
      const [packedA, packedB] = [shareA ? base : 0, shareB ? base + aBytes : 0];
      if (shareA)
        ctx.parallel(
          'packPanelsOfA',
          splitRange(g.m, tiles.length, TILE_ROWS).map(([r1, r2]) => [a, +transA, g.m, g.k, k0, k1, r1, r2, packedA]),
        );
      if (shareB)
        ctx.parallel(
          'packPanelsOfB',
          splitRange(g.n, tiles.length, PANEL_COLUMNS).map(([j1, j2]) => [b, bDtype, +transB, g.k, g.n, k0, k1, j1, j2, packedB]),
        );
      let offset = base + aBytes + bBytes;
      const calls = tiles.map(([i1, i2, j1, j2], i) => {
        const call = [
          a,
          b,
          c,
          bDtype,
          g.batch,
          g.m,
          g.k,
          g.n,
          g.aBatchStride,
          g.bBatchStride,
          +transA,
          +transB,
          +adds,
          offset,
          i1,
          i2,
          c0 + j1,
          c0 + j2,
          packedA,
          packedB,
          k0,
          k1,
        ];
        offset += partBytes[i];
        return call;
      });
      ctx.parallel('matmul', calls);
    });
  }
}

/** Sizes and batch strides of the products one call computes. */
export type ProductGeometry = Omit<MatmulGeometry, 'shape'>;

/**
 * A batch of products that share B, with each A stored row-major right
 * after the previous one, is one product with `batch · m` rows: same
 * elements, same order of additions, and one product splits and packs
 * better (the parts of a batched one each pack every A of the batch).
 */
function foldBatch(g: ProductGeometry, transA: boolean): ProductGeometry {
  if (g.batch === 1 || g.bBatchStride !== 0 || transA || g.aBatchStride !== g.m * g.k) return g;
  return { batch: 1, m: g.batch * g.m, k: g.k, n: g.n, aBatchStride: 0, bBatchStride: 0 };
}

/**
 * Whether the parts of a product share one packed A: one product, with
 * more B panels than the module reads A in place for, split by columns
 * (parts that would each pack all of A, or read it in place when small).
 */
function sharesPackedA(g: ProductGeometry, tiles: readonly ProductTile[]): boolean {
  return g.batch === 1 && g.k > 0 && tiles.length > 1 && Math.ceil(g.n / PANEL_COLUMNS) > DIRECT_PANELS && tiles.every(([i1, i2]) => i1 === 0 && i2 === g.m);
}

/** Whether the parts of a product share one packed B: one B for every product of the batch, split by rows into parts that each pack all of it. */
function sharesPackedB(g: ProductGeometry, tiles: readonly ProductTile[]): boolean {
  return (g.batch === 1 || g.bBatchStride === 0) && g.k > 0 && tiles.length > 1 && tiles.every(([, , j1, j2]) => j1 === 0 && j2 === g.n);
}

/** {@link Kernels.matmul} on the SIMD micro-kernel. */
export function matmul(ctx: WasmContext, a: DeviceTensor, b: DeviceTensor, options: MatmulOptions = {}): DeviceTensor {
  const g = matmulGeometry(a, b, options);
  const [pa, pb] = [ctx.address(a), ctx.address(b)];
  const out = ctx.output(g.shape, 'f32');
  product(ctx, pa, pb, out.address, FLOAT_CODES[b.dtype], g, !!options.transA, !!options.transB, false);
  return out.handle;
}

/** The products of {@link loraLinear}: the base layer's, then, with a rank, `x·Aᵀ` and its product with `Bᵀ`. */
function loraProducts(rows: number, inFeatures: number, outFeatures: number, rank: number): ProductGeometry[] {
  const flat = { batch: 1, aBatchStride: 0, bBatchStride: 0 };
  const base = { ...flat, m: rows, k: inFeatures, n: outFeatures };
  return rank > 0 ? [base, { ...flat, m: rows, k: inFeatures, n: rank }, { ...flat, m: rows, k: rank, n: outFeatures }] : [base];
}

/** Most scratch bytes a {@link loraLinear} call holds at once: the base product's, or the low-rank rows with either low-rank product's. */
export function loraLinearScratchBytes(
  rows: number,
  inFeatures: number,
  outFeatures: number,
  rank: number,
  partsFor: (work: number) => number,
  threads: number,
): number {
  const [base, ...low] = loraProducts(rows, inFeatures, outFeatures, rank).map((g) =>
    blockBytes(productScratchBytes(productLayout(g, false, partsFor, threads))),
  );
  return Math.max(base, low.length === 0 ? 0 : blockBytes(rows * rank * 4) + Math.max(...low));
}

/** {@link Kernels.loraLinear}: `x·W0ᵀ`, then `(scale·x·Aᵀ)·Bᵀ` accumulated into it. */
export function loraLinear(ctx: WasmContext, x: DeviceTensor, w0: DeviceTensor, a: DeviceTensor, b: DeviceTensor, scale: number): DeviceTensor {
  const { rows, inFeatures, outFeatures, rank, shape } = loraLinearGeometry(x, w0, a, b, scale);
  const [px, pw, pa, pb] = [ctx.address(x), ctx.address(w0), ctx.address(a), ctx.address(b)];
  const out = ctx.output(shape, 'f32');
  const [base, down, up] = loraProducts(rows, inFeatures, outFeatures, rank);
  product(ctx, px, pw, out.address, FLOAT_CODES[w0.dtype], base, false, true, false);
  if (rank > 0) {
    ctx.withScratch(rows * rank * 4, (low) => {
      product(ctx, px, pa, low, FLOAT_CODES.f32, down, false, true, false);
      ctx.exports.scale(low, low, rows * rank, scale);
      product(ctx, low, pb, out.address, FLOAT_CODES.f32, up, false, true, true);
    });
  }
  return out.handle;
}
