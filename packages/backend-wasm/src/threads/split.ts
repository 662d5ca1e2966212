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

/**
 * Splits `[0, total)` for `threads` threads that claim ranges in order
 * (guided self-scheduling): each range is 1/(2·threads) of the units left,
 * but no fewer than `minUnits` units of `align` (the last takes a smaller
 * rest with it), so the first ranges are large and the last ones small. A
 * thread that ends early then finds small ranges left instead of waiting
 * while another runs a large one it took late (a worker that woke late, a
 * core another process shares).
 */
export function guidedRanges(total: number, threads: number, minUnits: number, align = 1): Array<readonly [number, number]> {
  const step = Math.max(1, align);
  const units = Math.ceil(total / step);
  const ranges: Array<readonly [number, number]> = [];
  for (let done = 0; done < units; ) {
    const size = Math.max(minUnits, Math.ceil((units - done) / (2 * threads)));
    // A rest below the minimum joins this range.
    const end = units - (done + size) < minUnits ? units : done + size;
    ranges.push([done * step, Math.min(total, end * step)]);
    done = end;
  }
  return ranges.length > 0 ? ranges : [[0, 0]];
}

/**
 * How much smaller than an even split's parts the last parts of a guided
 * split get: small enough that a thread waits for little at the end, large
 * enough that the added calls cost little.
 */
const TAPER = 4;

/**
 * `parts` even parts of `total` when they are at most one per thread,
 * else {@link guidedRanges} ending in parts {@link TAPER} times smaller
 * (a few more calls than `parts`), of at least `minUnits`.
 */
function taperedRanges(total: number, parts: number, threads: number, align: number, minUnits: number): Array<readonly [number, number]> {
  if (parts <= threads) return splitRange(total, parts, align);
  return guidedRanges(total, threads, Math.max(minUnits, Math.ceil(Math.ceil(total / align) / (TAPER * parts))), align);
}

/**
 * Fewest panels of a column part, and row tiles of a row part, in a
 * tapered split: every part reads all of the shared operand (packed A,
 * packed B) once, which a thin part would not repay.
 */
const MIN_PART_PANELS = 4;
const MIN_PART_ROW_TILES = 8;

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
 * Splits the `m × n` output of a product with reduction length `k` into
 * tiles for `threads` threads: `parts` of them, or a few more when `parts`
 * exceeds `threads` (tapered, see {@link taperedRanges}). By columns (whole
 * panels, so each part packs only its own part of B) unless rows suit
 * better: C has too few panels, or B is small enough for every part to
 * pack all of it and either C is taller than wide (copies of B then cost
 * less than copies of A) or K is short.
 */
export function splitProduct(m: number, k: number, n: number, parts: number, threads: number): ProductTile[] {
  const panels = Math.ceil(n / PANEL_COLUMNS);
  const rowTiles = Math.ceil(m / TILE_ROWS);
  const smallB = k * n * 4 <= ROW_SPLIT_MAX_B_BYTES && rowTiles >= 2 * parts && (n < m || k <= ROW_SPLIT_MAX_K);
  if (panels < 2 * parts || smallB) return taperedRanges(m, parts, threads, TILE_ROWS, MIN_PART_ROW_TILES).map(([i1, i2]) => [i1, i2, 0, n] as const);
  return taperedRanges(n, parts, threads, PANEL_COLUMNS, MIN_PART_PANELS).map(([j1, j2]) => [0, m, j1, j2] as const);
}
