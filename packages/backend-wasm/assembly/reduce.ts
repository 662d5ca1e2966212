// Reductions accumulate in f64x2 lanes: every f32 is widened exactly, so the
// error stays far below the tolerance even for 10⁶ elements with a bias.

// @ts-ignore: decorator
@inline function high(v: v128): v128 {
  return v128.shuffle<f32>(v, v, 2, 3, 2, 3);
}

/** Sum of `n` f32 values, in f64. */
export function sumF64(x: usize, n: usize): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (i << 2));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(high(v)));
  }
  const s = f64x2.add(s0, s1);
  let total = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) total += <f64>load<f32>(x + (i << 2));
  return total;
}

/** Sum of squares of `n` f32 values, in f64. */
export function sumSquaresF64(x: usize, n: usize): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(high(v));
    s0 = f64x2.add(s0, f64x2.mul(lo, lo));
    s1 = f64x2.add(s1, f64x2.mul(hi, hi));
  }
  const s = f64x2.add(s0, s1);
  let total = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + (i << 2));
    total += v * v;
  }
  return total;
}

/** `out[0] = Σ x` as f32. */
export function sum(x: usize, n: usize, out: usize): void {
  store<f32>(out, <f32>sumF64(x, n));
}

/** `out[c] = Σ_r x[r, c]²` over `rows` rows of `dim`; `acc` is `dim` f64 of scratch. */
export function columnSumSquares(x: usize, rows: usize, dim: usize, out: usize, acc: usize): void {
  memory.fill(acc, 0, dim << 3);
  for (let r: usize = 0; r < rows; r++) {
    const row = x + ((r * dim) << 2);
    let c: usize = 0;
    for (; c + 2 <= dim; c += 2) {
      const v = f64x2.promote_low_f32x4(v128.load64_zero(row + (c << 2)));
      const p = acc + (c << 3);
      v128.store(p, f64x2.add(v128.load(p), f64x2.mul(v, v)));
    }
    for (; c < dim; c++) {
      const v = <f64>load<f32>(row + (c << 2));
      store<f64>(acc + (c << 3), load<f64>(acc + (c << 3)) + v * v);
    }
  }
  for (let c: usize = 0; c < dim; c++) store<f32>(out + (c << 2), <f32>load<f64>(acc + (c << 3)));
}
