// The method's LoRA importance (the kernel contract's loraImportance) in
// f64x2 lanes, bit for bit what the reference computes: every product the
// kernel forms is exact in f64 (f32 × f32, or a sign ±1/±0/NaN times such a
// product), so a fused multiply-add rounds as the reference's multiply then
// add does, and every sum runs in the reference's order (over k for W, over
// j for B's scores, over i for A's). Three passes: the factors widened to
// f64 (one thread), then rows of W = B·A (their signs, kept in scratch, and
// B's scores), then columns (A's scores), the last two split over threads
// by the host. Each score is computed whole by one call, so results do not
// depend on the split.

/** Ranks a pass keeps in registers: four f64x2 accumulators per row or column. */
const CHUNK: usize = 8;

// @ts-ignore: decorator
@inline function madd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(c, f64x2.mul(a, b));
}

/** `rank` rounded up to whole chunks: the padded rank of the B-side layouts. */
// @ts-ignore: decorator
@inline function padded(rank: usize): usize {
  return (rank + CHUNK - 1) & ~(CHUNK - 1);
}

// @ts-ignore: decorator
@inline function align16(bytes: usize): usize {
  return (bytes + 15) & ~15;
}

// Scratch layout, each region 16-byte aligned: A as f64 [rank, in]; a·n as
// f64 [in, padded rank] (zeros past rank); B as f64 [out, padded rank]; the
// signs of W as f64 [out, in].

// @ts-ignore: decorator
@inline function transposedAn(scratch: usize, rank: usize, inF: usize): usize {
  return scratch + align16((rank * inF) << 3);
}

// @ts-ignore: decorator
@inline function widenedB(scratch: usize, rank: usize, inF: usize): usize {
  return transposedAn(scratch, rank, inF) + align16((inF * padded(rank)) << 3);
}

// @ts-ignore: decorator
@inline function signMatrix(scratch: usize, rank: usize, inF: usize, outF: usize): usize {
  return widenedB(scratch, rank, inF) + align16((outF * padded(rank)) << 3);
}

/** Bytes of scratch the three passes share. */
export function loraImportanceScratchBytes(rank: usize, inF: usize, outF: usize): usize {
  return signMatrix(0, rank, inF, outF) + ((outF * inF) << 3);
}

/** First pass (one thread, O(r·(in + out))): widens A, B and a·n into scratch. */
export function loraImportancePrepare(a: usize, b: usize, n: usize, rank: usize, inF: usize, outF: usize, scratch: usize): void {
  const rp = padded(rank);
  const an = transposedAn(scratch, rank, inF);
  const bw = widenedB(scratch, rank, inF);
  for (let t: usize = 0; t < rank * inF; t++) store<f64>(scratch + (t << 3), <f64>load<f32>(a + (t << 2)));
  for (let j: usize = 0; j < inF; j++) {
    const nj = <f64>load<f32>(n + (j << 2));
    for (let k: usize = 0; k < rp; k++) store<f64>(an + ((j * rp + k) << 3), k < rank ? <f64>load<f32>(a + ((k * inF + j) << 2)) * nj : 0);
  }
  for (let i: usize = 0; i < outF; i++) {
    for (let k: usize = 0; k < rp; k++) store<f64>(bw + ((i * rp + k) << 3), k < rank ? <f64>load<f32>(b + ((i * rank + k) << 2)) : 0);
  }
}

// @ts-ignore: decorator
@inline function sign(x: f64): f64 {
  return x > 0 ? 1 : x < 0 ? -1 : x; // NaN stays NaN, ±0 stay zero
}

/** {@link sign} per lane. */
// @ts-ignore: decorator
@inline function sign2(x: v128): v128 {
  const zero = f64x2.splat(0);
  return v128.bitselect(f64x2.splat(1), v128.bitselect(f64x2.splat(-1), x, f64x2.lt(x, zero)), f64x2.gt(x, zero));
}

/**
 * Writes the signs of W's rows `i0` and `i1` (the same row twice is fine)
 * to their rows of the sign matrix: eight columns at a time, each lane's
 * sum over k in order from zero.
 */
function signRows(scratch: usize, rank: usize, inF: usize, outF: usize, i0: usize, i1: usize): void {
  const rp = padded(rank);
  const bw = widenedB(scratch, rank, inF);
  const signs = signMatrix(scratch, rank, inF, outF);
  const b0 = bw + ((i0 * rp) << 3);
  const b1 = bw + ((i1 * rp) << 3);
  const out0 = signs + ((i0 * inF) << 3);
  const out1 = signs + ((i1 * inF) << 3);
  let j: usize = 0;
  for (; j + 8 <= inF; j += 8) pairedSums(b0, b1, 8, scratch + (j << 3), inF << 3, rank, true, 1, 1, out0 + (j << 3), out1 + (j << 3), 0, 0);
  for (; j < inF; j++) {
    let w0: f64 = 0, w1: f64 = 0;
    for (let k: usize = 0; k < rank; k++) {
      const akj = load<f64>(scratch + ((k * inF + j) << 3));
      w0 += load<f64>(b0 + (k << 3)) * akj;
      w1 += load<f64>(b1 + (k << 3)) * akj;
    }
    store<f64>(out0 + (j << 3), sign(w0));
    store<f64>(out1 + (j << 3), sign(w1));
  }
}

/** The lanes of `v0` and `v1` (f64x2) rounded to f32, in order. */
// @ts-ignore: decorator
@inline function demote4(v0: v128, v1: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(v0), f32x4.demote_f64x2_zero(v1), 0, 1, 4, 5);
}

/** Stores the first `count` (≤ 8) lanes of `v0`…`v3` (f64x2, in order), rounded to f32, `stride` bytes apart from `dst`. */
// @ts-ignore: decorator
@inline function storeLanes(dst: usize, stride: usize, count: usize, v0: v128, v1: v128, v2: v128, v3: v128): void {
  let lo = demote4(v0, v1);
  let hi = demote4(v2, v3);
  for (let t: usize = 0; t < count; t++) {
    store<f32>(dst + t * stride, f32x4.extract_lane(lo, 0));
    lo = v128.shuffle<f32>(lo, hi, 1, 2, 3, 4);
    hi = v128.shuffle<f32>(hi, hi, 1, 2, 3, 0);
  }
}

/** `m·|v|` per lane (the reference's `n_j·|Σ|`; `m` 1 for B's `|Σ|`). */
// @ts-ignore: decorator
@inline function scaledAbs(v: v128, m: v128): v128 {
  return f64x2.mul(m, f64x2.abs(v));
}

/**
 * Two sums of `terms` terms each, in order from zero: `Σ_t c0[t]·x[t]` and
 * `Σ_t c1[t]·x[t]`, where `c0[t]` and `c1[t]` are the f64 at `c0` and `c1`
 * plus `t·cStride` bytes and `x[t]` the eight f64 at `x` plus `t·xStride`.
 * With `signs`, stores each sum's eight signs (f64) at `out0` and `out1`;
 * else `m0·|Σ|` and `m1·|Σ|` of the first `count` lanes, rounded to f32,
 * `outStride` bytes apart.
 */
function pairedSums(
  c0: usize, c1: usize, cStride: usize, x: usize, xStride: usize, terms: usize,
  signs: bool, m0: f64, m1: f64, out0: usize, out1: usize, outStride: usize, count: usize,
): void {
  let x0 = f64x2.splat(0), x1 = f64x2.splat(0), x2 = f64x2.splat(0), x3 = f64x2.splat(0);
  let y0 = f64x2.splat(0), y1 = f64x2.splat(0), y2 = f64x2.splat(0), y3 = f64x2.splat(0);
  for (let t: usize = 0; t < terms; t++) {
    const a = v128.load64_splat(c0);
    const b = v128.load64_splat(c1);
    const v0 = v128.load(x), v1 = v128.load(x, 16), v2 = v128.load(x, 32), v3 = v128.load(x, 48);
    x0 = madd64(a, v0, x0);
    x1 = madd64(a, v1, x1);
    x2 = madd64(a, v2, x2);
    x3 = madd64(a, v3, x3);
    y0 = madd64(b, v0, y0);
    y1 = madd64(b, v1, y1);
    y2 = madd64(b, v2, y2);
    y3 = madd64(b, v3, y3);
    c0 += cStride;
    c1 += cStride;
    x += xStride;
  }
  if (signs) {
    v128.store(out0, sign2(x0));
    v128.store(out0, sign2(x1), 16);
    v128.store(out0, sign2(x2), 32);
    v128.store(out0, sign2(x3), 48);
    v128.store(out1, sign2(y0));
    v128.store(out1, sign2(y1), 16);
    v128.store(out1, sign2(y2), 32);
    v128.store(out1, sign2(y3), 48);
    return;
  }
  const n0 = f64x2.splat(m0);
  const n1 = f64x2.splat(m1);
  storeLanes(out0, outStride, count, scaledAbs(x0, n0), scaledAbs(x1, n0), scaledAbs(x2, n0), scaledAbs(x3, n0));
  storeLanes(out1, outStride, count, scaledAbs(y0, n1), scaledAbs(y1, n1), scaledAbs(y2, n1), scaledAbs(y3, n1));
}

/** B's scores of rows `i0` and `i1` from their signs: `|Σ_j sign(W_ij)·a_kj·n_j|`, eight ranks at a time, each sum over j in order. */
function rowScores(scoreB: usize, scratch: usize, rank: usize, inF: usize, outF: usize, i0: usize, i1: usize): void {
  const rp = padded(rank);
  const an = transposedAn(scratch, rank, inF);
  const signs = signMatrix(scratch, rank, inF, outF);
  for (let k0: usize = 0; k0 < rank; k0 += CHUNK) {
    const out = scoreB + (k0 << 2);
    const s0 = signs + ((i0 * inF) << 3);
    const s1 = signs + ((i1 * inF) << 3);
    pairedSums(s0, s1, 8, an + (k0 << 3), rp << 3, inF, false, 1, 1, out + ((i0 * rank) << 2), out + ((i1 * rank) << 2), 4, min(CHUNK, rank - k0));
  }
}

/** Second pass, rows `[rowStart, rowEnd)`: the signs of W's rows (into scratch) and B's scores `[out, rank]`. */
export function loraImportanceRows(rank: usize, inF: usize, outF: usize, scoreB: usize, scratch: usize, rowStart: usize, rowEnd: usize): void {
  for (let i = rowStart; i < rowEnd; i += 2) {
    const i1 = min(i + 1, rowEnd - 1);
    signRows(scratch, rank, inF, outF, i, i1);
    rowScores(scoreB, scratch, rank, inF, outF, i, i1);
  }
}

/**
 * Third pass, after every row's signs: A's scores `[rank, in]` of columns
 * `[colStart, colEnd)`, `n_j·|Σ_i sign(W_ij)·B_ik|`, two columns and eight
 * ranks at a time, each sum over i in order.
 */
export function loraImportanceColumns(n: usize, rank: usize, inF: usize, outF: usize, scoreA: usize, scratch: usize, colStart: usize, colEnd: usize): void {
  const rp = padded(rank);
  const bw = widenedB(scratch, rank, inF);
  const signs = signMatrix(scratch, rank, inF, outF);
  for (let j0 = colStart; j0 < colEnd; j0 += 2) {
    const j1 = min(j0 + 1, colEnd - 1);
    const m0 = <f64>load<f32>(n + (j0 << 2));
    const m1 = <f64>load<f32>(n + (j1 << 2));
    for (let k0: usize = 0; k0 < rank; k0 += CHUNK) {
      const out = scoreA + ((k0 * inF) << 2);
      const x = bw + (k0 << 3);
      pairedSums(signs + (j0 << 3), signs + (j1 << 3), inF << 3, x, rp << 3, outF, false, m0, m1, out + (j0 << 2), out + (j1 << 2), inF << 2, min(CHUNK, rank - k0));
    }
  }
}
