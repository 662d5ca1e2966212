// Blocked SIMD matrix product. op(B) is packed once per batch into panels of
// 8 columns (widening f16/bf16 on the way), op(A) into panels of 6 rows per
// K block; a 6×8 register tile of f32x4 accumulators does the work. The
// order of every addition is fixed by K alone, never by which rows or
// columns a call covers, so results are bit-identical between runs and
// between any split of C across threads.

import { loadFloat } from './convert';

const MR: usize = 6;
const NR: usize = 8;
/** K block: an A panel (6 KiB) and a B panel slice (8 KiB) stay in L1. */
const KC: usize = 256;
/** M block (a multiple of MR): the packed A block (96 KiB) stays in L2. */
const MC: usize = 96;

// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/**
 * Floats of scratch a matmul over `n` columns of C needs: packed op(B), one
 * packed A block, then the edge tile. Scratch is per call, never static, so
 * threads sharing the memory never share it.
 */
export function matmulScratchFloats(k: usize, n: usize): usize {
  const panels = (n + NR - 1) / NR;
  return panels * NR * k + MC * KC + MR * NR;
}

/** The 4×4 transpose of rows `r0..r3`, as columns `c0..c3`: stored to `dst + i·stride`. */
// @ts-ignore: decorator
@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/**
 * Packs columns `[j1, j2)` of op(B) (`k × n`) into panels of NR columns,
 * zero-padded: panel `jp`, row `p`, column `c` at `(jp·k + p)·NR + c`.
 */
function packB(b: usize, dtype: i32, transB: bool, k: usize, n: usize, j1: usize, j2: usize, dst: usize): void {
  const panels = (j2 - j1 + NR - 1) / NR;
  for (let jp: usize = 0; jp < panels; jp++) {
    const j0 = j1 + jp * NR;
    const cols = min(NR, j2 - j0);
    let out = dst + jp * k * NR * 4;
    let p: usize = 0;
    if (dtype == 0 && cols == NR) {
      // Whole f32 panels move as vectors: rows of op(B) directly, or
      // columns of B through 4×4 transposes.
      if (!transB) {
        for (; p < k; p++) {
          const row = b + ((p * n + j0) << 2);
          v128.store(out, v128.load(row));
          v128.store(out, v128.load(row, 16), 16);
          out += NR * 4;
        }
      } else {
        const stride = k << 2;
        for (; p + 4 <= k; p += 4) {
          const src = b + ((j0 * k + p) << 2);
          transpose4(v128.load(src), v128.load(src + stride), v128.load(src + 2 * stride), v128.load(src + 3 * stride), out, NR * 4);
          const src4 = src + 4 * stride;
          transpose4(v128.load(src4), v128.load(src4 + stride), v128.load(src4 + 2 * stride), v128.load(src4 + 3 * stride), out + 16, NR * 4);
          out += 4 * NR * 4;
        }
      }
    }
    for (; p < k; p++) {
      for (let c: usize = 0; c < NR; c++) {
        let v: f32 = 0;
        if (c < cols) v = loadFloat(b, transB ? (j0 + c) * k + p : p * n + j0 + c, dtype);
        store<f32>(out + (c << 2), v);
      }
      out += NR * 4;
    }
  }
}

/** Packs rows `[i0, i0+mc)`, columns `[p0, p0+kc)` of op(A) into zero-padded panels of MR rows: panel `ip`, column `p`, row `r` at `(ip·kc + p)·MR + r`. */
function packA(a: usize, transA: bool, m: usize, k: usize, i0: usize, mc: usize, p0: usize, kc: usize, dst: usize): void {
  const panels = (mc + MR - 1) / MR;
  for (let ip: usize = 0; ip < panels; ip++) {
    const r0 = i0 + ip * MR;
    const rows = min(MR, mc - ip * MR);
    let out = dst + ip * kc * MR * 4;
    let p: usize = 0;
    if (rows == MR) {
      if (transA) {
        for (; p < kc; p++) {
          const src = a + (((p0 + p) * m + r0) << 2);
          v128.store(out, v128.load(src));
          v128.store64_lane(out + 16, v128.load64_zero(src + 16), 0);
          out += MR * 4;
        }
      } else {
        // Rows 0–3 through a 4×4 transpose, rows 4–5 interleaved in pairs.
        const stride = k << 2;
        const step = MR * 4;
        for (; p + 4 <= kc; p += 4) {
          const src = a + ((r0 * k + p0 + p) << 2);
          transpose4(v128.load(src), v128.load(src + stride), v128.load(src + 2 * stride), v128.load(src + 3 * stride), out, step);
          const r4 = v128.load(src + 4 * stride);
          const r5 = v128.load(src + 5 * stride);
          const lo = v128.shuffle<f32>(r4, r5, 0, 4, 1, 5);
          const hi = v128.shuffle<f32>(r4, r5, 2, 6, 3, 7);
          v128.store64_lane(out + 16, lo, 0);
          v128.store64_lane(out + step + 16, lo, 1);
          v128.store64_lane(out + 2 * step + 16, hi, 0);
          v128.store64_lane(out + 3 * step + 16, hi, 1);
          out += 4 * step;
        }
      }
    }
    for (; p < kc; p++) {
      for (let r: usize = 0; r < MR; r++) {
        let v: f32 = 0;
        if (r < rows) v = load<f32>(a + ((transA ? (p0 + p) * m + r0 + r : (r0 + r) * k + p0 + p) << 2));
        store<f32>(out + (r << 2), v);
      }
      out += MR * 4;
    }
  }
}

/** Stores (or adds) one row of the tile: two vectors at `row`. */
// @ts-ignore: decorator
@inline function storeRow(row: usize, lo: v128, hi: v128, accumulate: bool): void {
  if (accumulate) {
    lo = f32x4.add(v128.load(row), lo);
    hi = f32x4.add(v128.load(row, 16), hi);
  }
  v128.store(row, lo);
  v128.store(row, hi, 16);
}

/** One MR×NR tile: `C[rows, cols] (+)= Apanel · Bpanel` over `kc`; twelve accumulators, two B vectors, one broadcast. */
function microKernel(ap: usize, bp: usize, kc: usize, c: usize, ldc: usize, rows: usize, cols: usize, accumulate: bool, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let p: usize = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    a = v128.load32_splat(ap, 16);
    c40 = madd(a, b0, c40);
    c41 = madd(a, b1, c41);
    a = v128.load32_splat(ap, 20);
    c50 = madd(a, b0, c50);
    c51 = madd(a, b1, c51);
    ap += MR * 4;
    bp += NR * 4;
  }
  // A whole tile goes straight to C; an edge tile goes to `tile` first and
  // only its valid part is copied out.
  const whole = rows == MR && cols == NR;
  const dst = whole ? c : tile;
  const stride: usize = whole ? ldc << 2 : NR * 4;
  const add = whole && accumulate;
  storeRow(dst, c00, c01, add);
  storeRow(dst + stride, c10, c11, add);
  storeRow(dst + 2 * stride, c20, c21, add);
  storeRow(dst + 3 * stride, c30, c31, add);
  storeRow(dst + 4 * stride, c40, c41, add);
  storeRow(dst + 5 * stride, c50, c51, add);
  if (whole) return;
  for (let r: usize = 0; r < rows; r++) {
    for (let j: usize = 0; j < cols; j++) {
      const out = c + ((r * ldc + j) << 2);
      const v = load<f32>(tile + ((r * NR + j) << 2));
      store<f32>(out, accumulate ? load<f32>(out) + v : v);
    }
  }
}

/**
 * `C (+)= op(A)·op(B)` for `batch` products, over rows `[i1, i2)` and
 * columns `[j1, j2)` of C only (the whole product when `0, m, 0, n`). `a`
 * f32; `b` of dtype code `bDtype` (0 f32, 1 f16, 2 bf16); strides in
 * elements (0 = shared); `scratch` holds {@link matmulScratchFloats}`(k,
 * j2 - j1)` floats. With `accumulate` the product is added to `c`,
 * otherwise it replaces it (zeros when `k = 0`).
 */
export function matmul(
  a: usize, b: usize, c: usize, bDtype: i32, batch: usize, m: usize, k: usize, n: usize,
  aStride: usize, bStride: usize, transA: bool, transB: bool, accumulate: bool, scratch: usize,
  i1: usize, i2: usize, j1: usize, j2: usize,
): void {
  if (i2 <= i1 || j2 <= j1) return;
  if (k == 0) {
    if (!accumulate) {
      for (let t: usize = 0; t < batch; t++) {
        for (let i = i1; i < i2; i++) memory.fill(c + ((t * m * n + i * n + j1) << 2), 0, (j2 - j1) << 2);
      }
    }
    return;
  }
  const panels = (j2 - j1 + NR - 1) / NR;
  const packedA = scratch + ((panels * NR * k) << 2);
  const tile = packedA + ((MC * KC) << 2);
  const bBytes = bDtype == 0 ? 4 : 2;
  for (let t: usize = 0; t < batch; t++) {
    if (t == 0 || bStride != 0) packB(b + t * bStride * bBytes, bDtype, transB, k, n, j1, j2, scratch);
    const at = a + ((t * aStride) << 2);
    const ct = c + ((t * m * n) << 2);
    for (let p0: usize = 0; p0 < k; p0 += KC) {
      const kc = min(KC, k - p0);
      const acc = accumulate || p0 > 0;
      for (let i0 = i1; i0 < i2; i0 += MC) {
        const mc = min(MC, i2 - i0);
        packA(at, transA, m, k, i0, mc, p0, kc, packedA);
        const aPanels = (mc + MR - 1) / MR;
        for (let jp: usize = 0; jp < panels; jp++) {
          const j0 = j1 + jp * NR;
          const cols = min(NR, j2 - j0);
          const bp = scratch + ((jp * k + p0) * NR << 2);
          for (let ip: usize = 0; ip < aPanels; ip++) {
            const r0 = i0 + ip * MR;
            microKernel(packedA + ((ip * kc * MR) << 2), bp, kc, ct + ((r0 * n + j0) << 2), n, min(MR, i2 - r0), cols, acc, tile);
          }
        }
      }
    }
  }
}
