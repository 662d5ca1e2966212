// Blocked SIMD matrix product. op(B) is packed once per batch into panels of
// 8 columns (widening f16/bf16 on the way); a 4×8 register tile of f32x4
// accumulators does the work, reading op(A) from panels of 4 rows packed per
// K block or, when a call has few B panels to reuse them on, from A itself.
// When threads split a product, the operand every part needs whole (A for
// column parts, B for row parts) is packed once by all of them together.
// The order of every addition is fixed by K alone (per KC block: fresh
// accumulators summed in k order, then added to C), never by which rows or
// columns a call covers nor by where A is read from, so results are
// bit-identical between runs and between any split of C across threads.
//
// Why 4×8: V8 on x86-64 gives wasm 15 allocatable xmm registers and its
// scheduler hoists a k step's loads above its arithmetic, so a 6×8 tile
// (12 accumulators, 2 B vectors, 6 broadcasts live at once) spills 4
// accumulators to the stack every step; 4×8 fits and ran 1.2–1.5× faster.
// Measured and dropped: 5×8 (spills too); unrolling k in the source
// (Binaryen regroups the steps by accumulator, keeping every step's
// vectors live at once; V8 unrolls the loop itself); one A vector per k
// broadcast by shuffles instead of load-splats (slower: the shuffles
// compete with the adds for execution ports); other KC/MC (within noise).

import { loadFloat } from './convert';
import { productTile } from './tile';

const MR: usize = 4;
const NR: usize = 8;
/** K block: an A panel (4 KiB) and a B panel slice (8 KiB) stay in L1. */
const KC: usize = 256;
/** M block (a multiple of MR): the packed A block (96 KiB) stays in L2. */
const MC: usize = 96;
/**
 * Calls over at most this many B panels read op(A) in place, unless handed
 * a packed copy: each A panel would meet too few B panels to repay packing
 * it (2048×576×8 ran 1.2× faster unpacked; at 8 panels the two were even).
 */
const DIRECT_PANELS: usize = 4;

/**
 * Floats of scratch a matmul over `n` columns of C needs: packed op(B), one
 * packed A block, then the edge tile. Scratch is per call, never static, so
 * threads sharing the memory never share it.
 */
export function matmulScratchFloats(k: usize, n: usize): usize {
  return packedBFloats(k, n) + MC * KC + MR * NR;
}

/** Floats of op(B) `k × n` packed into whole panels. */
export function packedBFloats(k: usize, n: usize): usize {
  return ((n + NR - 1) / NR) * NR * k;
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
 * Widens four f16 (`dtype` 1) or bf16 (2) bit patterns, one per u32 lane,
 * to f32 exactly, as `f16ToF32` does one at a time: the exponent is
 * rebased, Inf/NaN keep an all-ones exponent, and subnormals are scaled
 * by a float subtraction that is exact.
 */
// @ts-ignore: decorator
@inline function widen4(h: v128, dtype: i32): v128 {
  if (dtype == 2) return i32x4.shl(h, 16);
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  let bits = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  const exp = v128.and(bits, i32x4.splat(0x0f800000));
  bits = i32x4.add(bits, i32x4.splat(112 << 23));
  bits = i32x4.add(bits, v128.and(i32x4.eq(exp, i32x4.splat(0x0f800000)), i32x4.splat(112 << 23)));
  // Exponent 0: read as 2⁻¹⁴·(1 + m/1024), minus 2⁻¹⁴, is m·2⁻²⁴.
  const subnormal = f32x4.sub(i32x4.add(bits, i32x4.splat(1 << 23)), i32x4.splat(113 << 23));
  return v128.or(v128.bitselect(subnormal, bits, i32x4.eq(exp, i32x4.splat(0))), sign);
}

/** Rows of B per pass when packing it untransposed: reads run along whole rows, writes along panels. */
const PACK_ROWS: usize = 16;

/**
 * Packs rows `[k0, k1)` of the whole panels of untransposed B (f32, or
 * f16/bf16 widened) from column `j1` on, PACK_ROWS rows at a time: a panel
 * at a time down all of K would read 32 bytes per row `n` floats apart,
 * missing the cache on every row.
 */
function packRows(b: usize, dtype: i32, n: usize, k0: usize, k1: usize, j1: usize, panels: usize, dst: usize): void {
  const size: usize = dtype == 0 ? 4 : 2;
  const span = k1 - k0;
  for (let p0 = k0; p0 < k1; p0 += PACK_ROWS) {
    const pe = min(k1, p0 + PACK_ROWS);
    for (let jp: usize = 0; jp < panels; jp++) {
      let out = dst + ((jp * span + p0 - k0) * NR << 2);
      let row = b + (p0 * n + j1 + jp * NR) * size;
      for (let p = p0; p < pe; p++) {
        if (dtype == 0) {
          v128.store(out, v128.load(row));
          v128.store(out, v128.load(row, 16), 16);
        } else {
          const h = v128.load(row);
          v128.store(out, widen4(i32x4.extend_low_i16x8_u(h), dtype));
          v128.store(out, widen4(i32x4.extend_high_i16x8_u(h), dtype), 16);
        }
        out += NR * 4;
        row += n * size;
      }
    }
  }
}

/** Four k values of row `row` of Bᵀ (`k` per row) from `p` on, as f32. */
// @ts-ignore: decorator
@inline function loadRow4(b: usize, dtype: i32, k: usize, row: usize, p: usize): v128 {
  if (dtype == 0) return v128.load(b + ((row * k + p) << 2));
  return widen4(i32x4.extend_low_i16x8_u(v128.load64_zero(b + ((row * k + p) << 1))), dtype);
}

/**
 * Packs rows `[k0, k1)` of columns `[j1, j2)` of op(B) (`k × n`) into
 * panels of NR columns, zero-padded: panel `jp`, row `p`, column `c` at
 * `(jp·(k1 − k0) + p − k0)·NR + c`.
 */
function packB(b: usize, dtype: i32, transB: bool, k: usize, n: usize, k0: usize, k1: usize, j1: usize, j2: usize, dst: usize): void {
  const panels = (j2 - j1 + NR - 1) / NR;
  const whole = (j2 - j1) / NR;
  const span = k1 - k0;
  if (!transB) packRows(b, dtype, n, k0, k1, j1, whole, dst);
  for (let jp: usize = 0; jp < panels; jp++) {
    const j0 = j1 + jp * NR;
    const cols = min(NR, j2 - j0);
    let out = dst + jp * span * NR * 4;
    let p = k0;
    if (cols == NR) {
      if (!transB) continue;
      // Whole panels of Bᵀ move as vectors (widened) through 4×4 transposes.
      for (; p + 4 <= k1; p += 4) {
        transpose4(loadRow4(b, dtype, k, j0, p), loadRow4(b, dtype, k, j0 + 1, p), loadRow4(b, dtype, k, j0 + 2, p), loadRow4(b, dtype, k, j0 + 3, p), out, NR * 4);
        transpose4(loadRow4(b, dtype, k, j0 + 4, p), loadRow4(b, dtype, k, j0 + 5, p), loadRow4(b, dtype, k, j0 + 6, p), loadRow4(b, dtype, k, j0 + 7, p), out + 16, NR * 4);
        out += 4 * NR * 4;
      }
    }
    for (; p < k1; p++) {
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
          v128.store(out, v128.load(a + (((p0 + p) * m + r0) << 2)));
          out += MR * 4;
        }
      } else {
        const stride = k << 2;
        for (; p + 4 <= kc; p += 4) {
          const src = a + ((r0 * k + p0 + p) << 2);
          transpose4(v128.load(src), v128.load(src + stride), v128.load(src + 2 * stride), v128.load(src + 3 * stride), out, MR * 4);
          out += 4 * MR * 4;
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

/**
 * One MR×NR tile: `C[rows, cols] (+)= op(A)[rows, kc] · Bpanel`. Rows 0–3
 * of op(A) start at `a0`…`a3` and step `ks` bytes per k, so the same code
 * reads a packed panel (rows 4 bytes apart, `ks = 16`) or A in place; rows
 * past an edge point at row 0 and are never stored. Inlined: with few k
 * per tile, a call and its per-tile set-up cost up to a fifth of the time.
 */
// @ts-ignore: decorator
@inline function microKernel(a0: usize, a1: usize, a2: usize, a3: usize, ks: usize, bp: usize, kc: usize, c: usize, ldc: usize, rows: usize, cols: usize, accumulate: bool, tile: usize): void {
  // A whole tile goes straight to C; an edge tile goes to `tile` first and
  // only its valid part is copied out.
  const whole = rows == MR && cols == NR;
  const dst = whole ? c : tile;
  const stride: usize = whole ? ldc << 2 : NR * 4;
  productTile(a0, a1, a2, a3, ks, bp, bp + kc * NR * 4, dst, dst + stride, dst + 2 * stride, dst + 3 * stride, 1, whole && accumulate);
  if (whole) return;
  for (let r: usize = 0; r < rows; r++) {
    for (let j: usize = 0; j < cols; j++) {
      const out = c + ((r * ldc + j) << 2);
      const v = load<f32>(tile + ((r * NR + j) << 2));
      store<f32>(out, accumulate ? load<f32>(out) + v : v);
    }
  }
}

/** Floats of op(A) `m × k` packed whole by {@link packPanelsOfA}. */
export function packedAFloats(m: usize, k: usize): usize {
  return ((m + MR - 1) / MR) * MR * k;
}

/**
 * Packs rows `[r1, r2)` (`r1` a multiple of MR) and columns `[k0, k1)`
 * (`k0` a multiple of KC) of op(A) `m × k` into their place in the packed
 * A of those columns at `dst`: per K block, the panels of every row in
 * order, as `matmul` packs one M block at a time. Calls over other rows
 * may run at the same time; `matmul` then reads the result in place of
 * packing A itself, once per column part.
 */
export function packPanelsOfA(a: usize, transA: bool, m: usize, k: usize, k0: usize, k1: usize, r1: usize, r2: usize, dst: usize): void {
  const panels = (m + MR - 1) / MR;
  for (let p0 = k0; p0 < k1; p0 += KC) {
    const kc = min(KC, k1 - p0);
    packA(a, transA, m, k, r1, r2 - r1, p0, kc, dst + (((p0 - k0) * panels + (r1 / MR) * kc) * MR << 2));
  }
}

/**
 * Packs rows `[k0, k1)` of columns `[c1, c2)` (`c1` a multiple of NR) of
 * op(B) `k × n` into their panels of the packed B of those rows at `dst`
 * (the layout `matmul` packs into its scratch). Calls over other columns
 * may run at the same time; `matmul` then reads the result instead of
 * packing B once per row part.
 */
export function packPanelsOfB(b: usize, bDtype: i32, transB: bool, k: usize, n: usize, k0: usize, k1: usize, c1: usize, c2: usize, dst: usize): void {
  packB(b, bDtype, transB, k, n, k0, k1, c1, c2, dst + ((c1 / NR) * (k1 - k0) * NR << 2));
}

/**
 * `C (+)= op(A)·op(B)` for `batch` products, over rows `[i1, i2)` and
 * columns `[j1, j2)` of C only (the whole product when `0, m, 0, n`), and
 * over the terms `[k0, k1)` of the reduction only (`k0` a multiple of KC;
 * `0, k` for the whole). `a` f32; `b` of dtype code `bDtype` (0 f32, 1 f16,
 * 2 bf16); strides in elements (0 = shared); `scratch` holds
 * {@link matmulScratchFloats}`(k1 - k0, j2 - j1)` floats. `packedA`, when
 * not 0 (one product, `i1` a multiple of MR), is op(A)'s columns `[k0, k1)`
 * packed by {@link packPanelsOfA}, read instead of packing A here;
 * `packedB`, when not 0 (one B for every product, `j1` a multiple of NR),
 * op(B)'s rows `[k0, k1)` packed by {@link packPanelsOfB}, and `scratch`
 * then needs no room for B. With `accumulate` the product is added to `c`,
 * otherwise it replaces it (zeros when `k = 0`). A call over `[k0, k1)`
 * with `accumulate` adds exactly what the whole call would have added for
 * those K blocks: the reduction is split at KC blocks, each summed afresh
 * and then added to C in k order either way.
 */
export function matmul(
  a: usize, b: usize, c: usize, bDtype: i32, batch: usize, m: usize, k: usize, n: usize,
  aStride: usize, bStride: usize, transA: bool, transB: bool, accumulate: bool, scratch: usize,
  i1: usize, i2: usize, j1: usize, j2: usize, packedA: usize, packedB: usize, k0: usize, k1: usize,
): void {
  if (i2 <= i1 || j2 <= j1) return;
  if (k1 <= k0) {
    if (!accumulate) {
      for (let t: usize = 0; t < batch; t++) {
        for (let i = i1; i < i2; i++) memory.fill(c + ((t * m * n + i * n + j1) << 2), 0, (j2 - j1) << 2);
      }
    }
    return;
  }
  const panels = (j2 - j1 + NR - 1) / NR;
  const span = k1 - k0;
  const aScratch = packedB != 0 ? scratch : scratch + ((panels * NR * span) << 2);
  // Packed B panels of this call's columns: its own, or its part of the shared copy.
  const bPanels = packedB != 0 ? packedB + ((j1 / NR) * span * NR << 2) : scratch;
  const tile = aScratch + ((MC * KC) << 2);
  const aPanels = (m + MR - 1) / MR;
  const bBytes = bDtype == 0 ? 4 : 2;
  const direct = packedA == 0 && panels <= DIRECT_PANELS;
  // Bytes between rows of op(A) and between its k values, where the
  // micro-kernel reads them: A itself, or a packed panel.
  const rowStep: usize = direct ? (transA ? 4 : k << 2) : 4;
  const kStep: usize = direct ? (transA ? m << 2 : 4) : MR * 4;
  for (let t: usize = 0; t < batch; t++) {
    if (packedB == 0 && (t == 0 || bStride != 0)) packB(b + t * bStride * bBytes, bDtype, transB, k, n, k0, k1, j1, j2, scratch);
    const at = a + ((t * aStride) << 2);
    const ct = c + ((t * m * n) << 2);
    for (let p0 = k0; p0 < k1; p0 += KC) {
      const kc = min(KC, k1 - p0);
      const acc = accumulate || p0 > k0;
      // Row panels of this K block start `panelStep` bytes apart from `aBlock`.
      const panelStep = direct ? MR * rowStep : kc * MR * 4;
      for (let i0 = i1; i0 < i2; i0 += MC) {
        const mc = min(MC, i2 - i0);
        let aBlock = aScratch;
        if (direct) aBlock = at + i0 * rowStep + p0 * kStep;
        else if (packedA != 0) aBlock = packedA + (((p0 - k0) * aPanels + (i0 / MR) * kc) * MR << 2);
        else packA(at, transA, m, k, i0, mc, p0, kc, aScratch);
        const blockPanels = (mc + MR - 1) / MR;
        for (let jp: usize = 0; jp < panels; jp++) {
          const j0 = j1 + jp * NR;
          const cols = min(NR, j2 - j0);
          const bp = bPanels + ((jp * span + p0 - k0) * NR << 2);
          for (let ip: usize = 0; ip < blockPanels; ip++) {
            const r0 = i0 + ip * MR;
            const rows = min(MR, i2 - r0);
            const a0 = aBlock + ip * panelStep;
            const cp = ct + ((r0 * n + j0) << 2);
            // A whole tile gets its own inlined copy with the edge handling
            // folded away: with a short K, that overhead is a tenth of a tile.
            if (rows == MR && cols == NR) {
              microKernel(a0, a0 + rowStep, a0 + 2 * rowStep, a0 + 3 * rowStep, kStep, bp, kc, cp, n, MR, NR, acc, tile);
            } else {
              const a1 = rows > 1 ? a0 + rowStep : a0;
              const a2 = rows > 2 ? a0 + 2 * rowStep : a0;
              const a3 = rows > 3 ? a0 + 3 * rowStep : a0;
              microKernel(a0, a1, a2, a3, kStep, bp, kc, cp, n, rows, cols, acc, tile);
            }
          }
        }
      }
    }
  }
}
