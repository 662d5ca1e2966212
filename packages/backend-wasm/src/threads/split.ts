/**
 * Splits `[0, total)` into at most `parts` contiguous ranges, as even as
 * possible, whose inner bounds are multiples of `align` (a register tile,
 * a key/value block). Empty ranges are left out; `[0, 0)` gives one empty
 * range so the caller still makes its single call.
 */
export function splitRange(total: number, parts: number, align = 1): Array<readonly [number, number]> {
  const step = Math.max(1, align);
  const units = Math.ceil(total / step);
  const count = Math.max(1, Math.min(parts, units));
  const ranges: Array<readonly [number, number]> = [];
  for (let i = 0; i < count; i++) {
    const start = Math.min(total, Math.floor((units * i) / count) * step);
    const end = Math.min(total, Math.floor((units * (i + 1)) / count) * step);
    if (end > start || total === 0) ranges.push([start, end]);
  }
  return ranges;
}

/** Columns of a packed B panel and rows of a register tile in assembly/matmul.ts: the grain of a product's parts. */
export const PANEL_COLUMNS = 8;
export const TILE_ROWS = 4;
/** B panels up to which assembly/matmul.ts reads A in place instead of packing it. */
export const DIRECT_PANELS = 4;

/**
 * Largest packed B (bytes) that C is split by rows for: each row part
 * packs all of B for itself and streams it once per block of rows, so it
 * should stay in one core's L2.
 */
const ROW_SPLIT_MAX_B_BYTES = 2 * 1024 * 1024;

/**
 * K up to which a product with a small B is split by rows even when C is
 * wider than tall: a column part writes a few floats of every row of C, so
 * neighbouring parts running at once share a cache line per row, which
 * costs more than the few multiply-adds behind each float (2048×8×576 on
 * 2 threads: 1.7× one thread by columns, 1.9–2.0× by rows).
 */
const ROW_SPLIT_MAX_K = 32;

/** The C tile `[i1, i2, j1, j2]` (rows, then columns) one part of a product computes. */
export type ProductTile = readonly [number, number, number, number];

/**
 * Splits the `m × n` output of a product with reduction length `k` into at
 * most `parts` tiles. By columns (whole panels, so each part packs only its
 * own part of B, and packs all of A) unless rows suit better: C has too
 * few panels, or B is small enough for every part to pack all of it and
 * either C is taller than wide (copies of B then cost less than copies of
 * A) or K is short.
 */
export function splitProduct(m: number, k: number, n: number, parts: number): ProductTile[] {
  const panels = Math.ceil(n / PANEL_COLUMNS);
  const rowTiles = Math.ceil(m / TILE_ROWS);
  const smallB = k * n * 4 <= ROW_SPLIT_MAX_B_BYTES && rowTiles >= 2 * parts && (n < m || k <= ROW_SPLIT_MAX_K);
  if (panels < 2 * parts || smallB) return splitRange(m, parts, TILE_ROWS).map(([i1, i2]) => [i1, i2, 0, n] as const);
  return splitRange(n, parts, PANEL_COLUMNS).map(([j1, j2]) => [0, m, j1, j2] as const);
}
