// The 4×8 register tile of f32x4 accumulators that the matmul and the
// attention scores share (see matmul.ts for why 4×8 on V8).

/** `c + a·b`, fused where relaxed SIMD is enabled. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// @ts-ignore: decorator
@inline function storeRow(row: usize, lo: v128, hi: v128, scale: f32, accumulate: bool): void {
  if (scale != 1) {
    lo = f32x4.mul(lo, f32x4.splat(scale));
    hi = f32x4.mul(hi, f32x4.splat(scale));
  }
  if (accumulate) {
    lo = f32x4.add(v128.load(row), lo);
    hi = f32x4.add(v128.load(row, 16), hi);
  }
  v128.store(row, lo);
  v128.store(row, hi, 16);
}

/**
 * One 4×8 tile product: rows 0–3 of A start at `a0`…`a3` and step `ks`
 * bytes per k; `[bp, end)` is a packed panel, 8 floats per k. Writes
 * `scale ·` the tile's row `r` to the 8 floats at `d0`…`d3` (added to what
 * is there with `accumulate`). The additions run in k order from zero.
 * Inlined, so a constant `scale` of 1 costs nothing.
 */
// @ts-ignore: decorator
@inline export function productTile(
  a0: usize, a1: usize, a2: usize, a3: usize, ks: usize, bp: usize, end: usize,
  d0: usize, d1: usize, d2: usize, d3: usize, scale: f32, accumulate: bool,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  while (bp < end) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(a0);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(a1);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(a2);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(a3);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    a0 += ks;
    a1 += ks;
    a2 += ks;
    a3 += ks;
    bp += 32;
  }
  storeRow(d0, c00, c01, scale, accumulate);
  storeRow(d1, c10, c11, scale, accumulate);
  storeRow(d2, c20, c21, scale, accumulate);
  storeRow(d3, c30, c31, scale, accumulate);
}
