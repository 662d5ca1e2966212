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

/** How a product is cut across threads and the scratch it takes. */
interface ProductLayout {
  readonly g: ProductGeometry;
  readonly tiles: readonly ProductTile[];
  readonly shareA: boolean;
  readonly shareB: boolean;
  /** Bytes of the shared packed A and B (0 when not shared), then each part's own scratch. */
  readonly aBytes: number;
  readonly bBytes: number;
  readonly partBytes: readonly number[];
}

/** The split of a product into parts, and its scratch: what {@link product} allocates, for the kernel and for memory plans. */
export function productLayout(geometry: ProductGeometry, transA: boolean, partsFor: (work: number) => number, threads: number): ProductLayout {
  const g = foldBatch(geometry, transA);
  const tiles = splitProduct(g.m, g.k, g.n, partsFor(g.batch * g.m * g.n * Math.max(g.k, 1)), threads);
  // Parts would each pack all of the operand they share (A for column
  // parts, B for row parts): the threads pack it once, split, and every
  // part reads that copy.
  const shareA = sharesPackedA(g, tiles);
  const shareB = sharesPackedB(g, tiles);
  return {
    g,
    tiles,
    shareA,
    shareB,
    aBytes: shareA ? packedAFloats(g.m, g.k) * 4 : 0,
    bBytes: shareB ? packedBFloats(g.k, g.n) * 4 : 0,
    partBytes: tiles.map(([, , j1, j2]) => matmulScratchFloats(g.k, shareB ? 0 : j2 - j1) * 4),
  };
}

/** Scratch bytes of a product: the shared packings and every part's own. */
export function productScratchBytes(layout: ProductLayout): number {
  return layout.aBytes + layout.bBytes + layout.partBytes.reduce((x, y) => x + y, 0);
}

/**
 * Runs the module's matmul, split across threads into tiles of C by
 * {@link splitProduct}. The reduction over K is never split, so every
 * element is computed the same way for any thread count.
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
  const layout = productLayout(geometry, transA, ctx.partsFor, ctx.threads);
  const { g, tiles, shareA, shareB, aBytes, bBytes, partBytes: scratch } = layout;
  ctx.withScratch(productScratchBytes(layout), (base) => {
    const [packedA, packedB] = [shareA ? base : 0, shareB ? base + aBytes : 0];
    if (shareA)
      ctx.parallel(
        'packPanelsOfA',
        splitRange(g.m, tiles.length, TILE_ROWS).map(([r1, r2]) => [a, +transA, g.m, g.k, r1, r2, packedA]),
      );
    if (shareB)
      ctx.parallel(
        'packPanelsOfB',
        splitRange(g.n, tiles.length, PANEL_COLUMNS).map(([c1, c2]) => [b, bDtype, +transB, g.k, g.n, c1, c2, packedB]),
      );
    let offset = base + aBytes + bBytes;
    const calls = tiles.map((tile, i) => {
      const call = [a, b, c, bDtype, g.batch, g.m, g.k, g.n, g.aBatchStride, g.bBatchStride, +transA, +transB, +accumulate, offset, ...tile, packedA, packedB];
      offset += scratch[i];
      return call;
    });
    ctx.parallel('matmul', calls);
  });
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
