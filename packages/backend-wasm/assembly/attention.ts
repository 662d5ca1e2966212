// Causal grouped-query attention, forward and backward, four query rows at
// a time (the next positions of one head or, decoding with one query per
// head, the heads that share a key/value head), so every key and value row
// loaded serves four queries.
//
// Scores: the key (and, for the backward, value) rows of a key/value block
// are packed once per call into panels of 8 keys, `[keys/8][D][8]`, and a
// 4×8 tile of f32x4 accumulators computes four queries against eight keys,
// summing over d in order (as in matmul.ts, whose notes say why 4×8 fits
// V8's registers). The softmax runs in f32x4 with `exp4`, one exponential
// per (query, key), its sum in f64; P·V and dS·K take four rows times eight
// floats of the head dimension per pass over the keys; dK and dV rows are
// updated once per four queries. Masked keys are skipped, never multiplied
// by zero, so an infinite value past the causal edge cannot turn into NaN.
//
// Sliding window: a query sees keys [first, end) with `first = end − window`
// (or 0). The rows of a block see at most three more keys than the first
// one at either edge, so each row sums its own leading keys alone, then the
// keys every row sees together, then its own trailing keys: in key order,
// whichever rows share its block. Scores start at the panel of the block's
// first key, so a window costs O(window) per query, not O(position).
//
// Against the former one-row kernel (f64 scores, two scalar exponentials
// per pair) on the tiny config's shapes, one thread, relaxed build: forward
// 3.1×, backward 2.8× faster. dK and dV are updated in two passes, not one
// (8 % faster: one pass kept 8 broadcasts live). Their read-modify-write of
// each key row per four queries is now the largest part of the backward; a
// longer reduction (more query rows per key tile) is the next step there.
//
// Determinism: a query row's arithmetic (its scores, its softmax, its sums
// in key order) is the same whichever block holds it and whichever rows
// share that block, so the forward may be split anywhere. The backward
// blocks rows from the start of each head and dK/dV sum over query rows in
// order, so splits at multiples of `group·Sq` give one result.
//
// Layouts: q, k, v, out and the gradients are all `[B, H, S, D]` or, with
// `bshd`, all `[B, S, H, D]` (a projection's output reshaped, so the model
// never permutes); a row's D floats are contiguous either way, only the
// steps between rows differ. `lse` is `[B, H, Sq]` in both.
//
// Scratch of one call part (src/kernels/transformer.ts sizes it), with
// `K8 = seqK` rounded up to whole panels: the packed key panels (`K8·D`
// floats) and four score rows (`4·K8`); the backward adds the packed value
// panels and four more rows (dP, then dS).

import { exp4 } from './exp';
import { madd, productTile } from './tile';

/** Keys per packed panel: the width of the score tile. */
const PANEL: usize = 8;
/** Query rows per block: the height of every register tile. */
const ROWS: usize = 4;

/** `a·b + c`: fused in the relaxed build (rounding may differ between builds, never between runs). */
/** `seqK` rounded up to whole panels: the stride of every per-key scratch row. */
// @ts-ignore: decorator
@inline function paddedKeys(seqK: usize): usize {
  return (seqK + PANEL - 1) & ~(PANEL - 1);
}

/** `Σ_d x[d]·y[d]` over `dim` f32. */
function dot(x: usize, y: usize, dim: usize): f32 {
  let acc = f32x4.splat(0);
  let d: usize = 0;
  for (; d + 4 <= dim; d += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(x + (d << 2)), v128.load(y + (d << 2))));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; d < dim; d++) s += load<f32>(x + (d << 2)) * load<f32>(y + (d << 2));
  return s;
}

/** Key `key` of the rows at `src`, `ks` floats apart, from `d`: four floats, zeros past `seqK`. */
// @ts-ignore: decorator
@inline function keyChunk(src: usize, key: usize, seqK: usize, ks: usize, d: usize): v128 {
  return key < seqK ? v128.load(src + ((key * ks + d) << 2)) : f32x4.splat(0);
}

/**
 * Packs panels `[p1, p2)` of the `seqK` key rows at `src` (`dim` floats
 * each, `ks` floats apart) into `dst` (`[panel][dim][8]`), zeros past
 * `seqK`: 4 keys × 4 floats at a time, transposed in registers.
 */
function packPanels(src: usize, seqK: usize, dim: usize, ks: usize, dst: usize, p1: usize, p2: usize): void {
  for (let p = p1; p < p2; p++) {
    const panel = dst + ((p * dim * PANEL) << 2);
    for (let half: usize = 0; half < PANEL; half += 4) {
      const key = p * PANEL + half;
      const to = panel + (half << 2);
      let d: usize = 0;
      for (; d + 4 <= dim; d += 4) {
        const r0 = keyChunk(src, key, seqK, ks, d);
        const r1 = keyChunk(src, key + 1, seqK, ks, d);
        const r2 = keyChunk(src, key + 2, seqK, ks, d);
        const r3 = keyChunk(src, key + 3, seqK, ks, d);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const at = to + ((d * PANEL) << 2);
        v128.store(at, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(at, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), PANEL * 4);
        v128.store(at, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), PANEL * 8);
        v128.store(at, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), PANEL * 12);
      }
      for (; d < dim; d++) {
        for (let i: usize = 0; i < 4; i++) {
          store<f32>(to + ((d * PANEL + i) << 2), key + i < seqK ? load<f32>(src + (((key + i) * ks + d) << 2)) : 0);
        }
      }
    }
  }
}

/**
 * `scale · x_r·k_j` for rows `x0…x3` (`dim` floats each) against packed
 * panels `[first, panels)` at `kp`, into rows `s0…s3` (8 floats per panel,
 * at the keys' own positions). Aliased rows (same `x`, same `s`) store the
 * same values twice.
 */
function scoreTile(
  x0: usize, x1: usize, x2: usize, x3: usize, kp: usize, first: usize, panels: usize, dim: usize, scale: f32, s0: usize, s1: usize, s2: usize, s3: usize,
): void {
  const panelBytes = (dim * PANEL) << 2;
  for (let p = first; p < panels; p++) {
    const bp = kp + p * panelBytes;
    const o = (p * PANEL) << 2;
    productTile(x0, x1, x2, x3, 4, bp, bp + panelBytes, s0 + o, s1 + o, s2 + o, s3 + o, scale, false);
  }
}

/** `x`, the four values of keys `j…j+3`, with the lanes of keys outside `[from, to)` replaced by `fill`. */
// @ts-ignore: decorator
@inline function keysIn(x: v128, j: usize, from: usize, to: usize, fill: v128): v128 {
  if (j >= from && j + 4 <= to) return x;
  const lane = i32x4(0, 1, 2, 3);
  const keep = v128.and(i32x4.ge_s(lane, i32x4.splat(<i32>from - <i32>j)), i32x4.lt_s(lane, i32x4.splat(<i32>to - <i32>j)));
  return v128.bitselect(x, fill, keep);
}

/** The first key a query sees whose keys end at `end`: `window` keys back at most. */
// @ts-ignore: decorator
@inline function firstKey(end: usize, window: usize): usize {
  return end > window ? end - window : 0;
}

/**
 * Softmax numerator of one row in place: `p_j = exp(s_j − max)` over its
 * scores `[from, to)` at `s` (keys' own positions). Stores the row's
 * log-sum-exp at `lse` and returns `1 / Σ p` (the sum in f64).
 */
function softmaxRow(s: usize, from: usize, to: usize, lse: usize): f32 {
  const ninf = f32x4.splat(-Infinity);
  const start = from & ~3;
  let m = ninf;
  for (let j = start; j < to; j += 4) m = f32x4.max(m, keysIn(v128.load(s + (j << 2)), j, from, to, ninf));
  const max = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  const mv = f32x4.splat(max);
  let lo = f64x2.splat(0), hi = f64x2.splat(0);
  for (let j = start; j < to; j += 4) {
    const p = keysIn(exp4(f32x4.sub(v128.load(s + (j << 2)), mv)), j, from, to, f32x4.splat(0));
    v128.store(s + (j << 2), p);
    lo = f64x2.add(lo, f64x2.promote_low_f32x4(p));
    hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(p, p, 2, 3, 2, 3)));
  }
  const sum = f64x2.extract_lane(lo, 0) + f64x2.extract_lane(hi, 0) + (f64x2.extract_lane(lo, 1) + f64x2.extract_lane(hi, 1));
  store<f32>(lse, <f32>(<f64>max + Math.log(sum)));
  return <f32>(1 / sum);
}

/** `r + Σ_{j ∈ [j1, j2)} c[j]·x_j[d…d+3]` (`d+4…d+7` when `high`): one row alone over some of its keys. */
// @ts-ignore: decorator
@inline function rowKeys(c: usize, x: usize, rowBytes: usize, d: usize, j1: usize, j2: usize, r: v128, high: bool): v128 {
  let xk = x + j1 * rowBytes + (d << 2);
  for (let j = j1; j < j2; j++, xk += rowBytes) r = madd(v128.load32_splat(c + (j << 2)), high ? v128.load(xk, 16) : v128.load(xk), r);
  return r;
}

/**
 * One pass of {@link rowsTimesKeys} over `wide ? 8 : 4` floats from `d`:
 * rows 0–2 first sum their keys before `u3` (the first key row 3 sees),
 * then the main loop covers the keys every row sees, `[u3, v0)`, then each
 * later row its few keys from `max(v0, u3)`, so each row sums its keys in order.
 */
// @ts-ignore: decorator
@inline function rowsTimesKeysPass(
  c0: usize, c1: usize, c2: usize, c3: usize, x: usize, rowBytes: usize, d: usize,
  u0: usize, u1: usize, u2: usize, u3: usize, v0: usize, v1: usize, v2: usize, v3: usize, m0: f32, m1: f32, m2: f32, m3: f32,
  o0: usize, o1: usize, o2: usize, o3: usize, rows: usize, wide: bool,
): void {
  let r00 = f32x4.splat(0), r01 = f32x4.splat(0);
  let r10 = f32x4.splat(0), r11 = f32x4.splat(0);
  let r20 = f32x4.splat(0), r21 = f32x4.splat(0);
  let r30 = f32x4.splat(0), r31 = f32x4.splat(0);
  if (u3 > u0) {
    const h0 = min(u3, v0), h1 = min(u3, v1), h2 = min(u3, v2);
    r00 = rowKeys(c0, x, rowBytes, d, u0, h0, r00, false);
    r10 = rowKeys(c1, x, rowBytes, d, u1, h1, r10, false);
    r20 = rowKeys(c2, x, rowBytes, d, u2, h2, r20, false);
    if (wide) {
      r01 = rowKeys(c0, x, rowBytes, d, u0, h0, r01, true);
      r11 = rowKeys(c1, x, rowBytes, d, u1, h1, r11, true);
      r21 = rowKeys(c2, x, rowBytes, d, u2, h2, r21, true);
    }
  }
  let xj = x + u3 * rowBytes + (d << 2);
  for (let j = u3; j < v0; j++) {
    const b0 = v128.load(xj);
    const b1 = wide ? v128.load(xj, 16) : b0;
    const jo = j << 2;
    let a = v128.load32_splat(c0 + jo);
    r00 = madd(a, b0, r00);
    if (wide) r01 = madd(a, b1, r01);
    a = v128.load32_splat(c1 + jo);
    r10 = madd(a, b0, r10);
    if (wide) r11 = madd(a, b1, r11);
    a = v128.load32_splat(c2 + jo);
    r20 = madd(a, b0, r20);
    if (wide) r21 = madd(a, b1, r21);
    a = v128.load32_splat(c3 + jo);
    r30 = madd(a, b0, r30);
    if (wide) r31 = madd(a, b1, r31);
    xj += rowBytes;
  }
  const t = max(v0, u3);
  r10 = rowKeys(c1, x, rowBytes, d, t, v1, r10, false);
  r20 = rowKeys(c2, x, rowBytes, d, t, v2, r20, false);
  r30 = rowKeys(c3, x, rowBytes, d, t, v3, r30, false);
  if (wide) {
    r11 = rowKeys(c1, x, rowBytes, d, t, v1, r11, true);
    r21 = rowKeys(c2, x, rowBytes, d, t, v2, r21, true);
    r31 = rowKeys(c3, x, rowBytes, d, t, v3, r31, true);
  }
  const od = d << 2;
  v128.store(o0 + od, f32x4.mul(r00, f32x4.splat(m0)));
  if (wide) v128.store(o0 + od, f32x4.mul(r01, f32x4.splat(m0)), 16);
  if (rows < 2) return;
  v128.store(o1 + od, f32x4.mul(r10, f32x4.splat(m1)));
  if (wide) v128.store(o1 + od, f32x4.mul(r11, f32x4.splat(m1)), 16);
  if (rows < 3) return;
  v128.store(o2 + od, f32x4.mul(r20, f32x4.splat(m2)));
  if (wide) v128.store(o2 + od, f32x4.mul(r21, f32x4.splat(m2)), 16);
  if (rows < 4) return;
  v128.store(o3 + od, f32x4.mul(r30, f32x4.splat(m3)));
  if (wide) v128.store(o3 + od, f32x4.mul(r31, f32x4.splat(m3)), 16);
}

/** `o[d] = m · Σ_{j ∈ [from, to)} c[j] · x_j[d]` for a scalar `d`. */
function rowTimesKeysAt(c: usize, x: usize, rowBytes: usize, d: usize, from: usize, to: usize, m: f32, o: usize): void {
  let acc: f32 = 0;
  for (let j = from; j < to; j++) acc += load<f32>(c + (j << 2)) * load<f32>(x + j * rowBytes + (d << 2));
  store<f32>(o + (d << 2), acc * m);
}

/**
 * `o_r = m_r · Σ_{j ∈ [u_r, v_r)} c_r[j] · x_j` for the first `rows` of four rows
 * (P·V, dS·K): coefficient rows `c0…c3`, key rows `x_j` (`dim` floats at
 * `x`, `rowBytes` apart), key ranges whose ends `v1`, `v2`, `v3` are each in
 * `[v0, v0 + 3]` and whose starts `u_r` are each in `[u0, u0 + 3]`, both
 * non-decreasing. Rows past `rows` alias earlier ones and are not stored.
 */
function rowsTimesKeys(
  c0: usize, c1: usize, c2: usize, c3: usize, x: usize, dim: usize, rowBytes: usize,
  u0: usize, u1: usize, u2: usize, u3: usize, v0: usize, v1: usize, v2: usize, v3: usize, m0: f32, m1: f32, m2: f32, m3: f32,
  o0: usize, o1: usize, o2: usize, o3: usize, rows: usize,
): void {
  let d: usize = 0;
  for (; d + 8 <= dim; d += 8) rowsTimesKeysPass(c0, c1, c2, c3, x, rowBytes, d, u0, u1, u2, u3, v0, v1, v2, v3, m0, m1, m2, m3, o0, o1, o2, o3, rows, true);
  if (d + 4 <= dim) {
    rowsTimesKeysPass(c0, c1, c2, c3, x, rowBytes, d, u0, u1, u2, u3, v0, v1, v2, v3, m0, m1, m2, m3, o0, o1, o2, o3, rows, false);
    d += 4;
  }
  for (; d < dim; d++) {
    rowTimesKeysAt(c0, x, rowBytes, d, u0, v0, m0, o0);
    if (rows > 1) rowTimesKeysAt(c1, x, rowBytes, d, u1, v1, m1, o1);
    if (rows > 2) rowTimesKeysAt(c2, x, rowBytes, d, u2, v2, m2, o2);
    if (rows > 3) rowTimesKeysAt(c3, x, rowBytes, d, u3, v3, m3, o3);
  }
}

/**
 * Byte offset of the first key of the key/value block that query row `row`
 * (of `[B, H, Sq]`) reads: in `[B, KV, Sk, D]`, or `[B, Sk, KV, D]` with
 * `bshd`, where a block's keys lie `KV·D` floats apart.
 */
// @ts-ignore: decorator
@inline function kvOffset(row: usize, heads: usize, kvHeads: usize, group: usize, seqQ: usize, seqK: usize, dim: usize, bshd: bool): usize {
  const bh = row / seqQ;
  const b = bh / heads, kv = (bh % heads) / group;
  return ((bshd ? b * seqK * kvHeads + kv : (b * kvHeads + kv) * seqK) * dim) << 2;
}

/** Floats between consecutive keys of one key/value block: `D`, or `KV·D` in `[B, Sk, KV, D]`. */
// @ts-ignore: decorator
@inline function keyStride(kvHeads: usize, dim: usize, bshd: bool): usize {
  return bshd ? kvHeads * dim : dim;
}

/** Byte offset of query row `row` (of `[B, H, Sq]`) in `[B, H, Sq, D]`, or in `[B, Sq, H, D]` with `bshd`. */
// @ts-ignore: decorator
@inline function rowOffset(row: usize, heads: usize, seqQ: usize, dim: usize, bshd: bool): usize {
  if (!bshd) return (row * dim) << 2;
  const bh = row / seqQ;
  return ((((bh / heads) * seqQ + row % seqQ) * heads + bh % heads) * dim) << 2;
}

/** Keys query row `row` (of `[B, H, Sq]`) sees: the queries are the last `seqQ` of `seqK` positions. */
// @ts-ignore: decorator
@inline function visibleKeys(row: usize, seqQ: usize, seqK: usize): usize {
  return row % seqQ + seqK - seqQ + 1;
}

/** Row `first + min(r, rows − 1)`: a block's rows past `rows` alias its last. */
// @ts-ignore: decorator
@inline function blockRow(first: usize, r: usize, rows: usize): usize {
  return first + (r < rows ? r : rows - 1);
}

/**
 * Forward: `out` (the layout of `q`: `[B, H, Sq, D]`, or `[B, Sq, H, D]`
 * with `bshd`, as are `k` and `v`), `lse` `[B, H, Sq]`, for query rows
 * `[row1, row2)` of `[B·H·Sq]` (each row is independent, so threads may
 * split them anywhere), each seeing at most `window` keys. `scratch` holds the layout above.
 */
export function attention(
  q: usize, k: usize, v: usize, out: usize, lse: usize,
  batch: usize, heads: usize, kvHeads: usize, group: usize, seqQ: usize, seqK: usize, dim: usize, scale: f64, window: usize, bshd: bool, scratch: usize,
  row1: usize, row2: usize,
): void {
  const stride = paddedKeys(seqK) << 2;
  const ks = keyStride(kvHeads, dim, bshd);
  const kp = scratch;
  const s = kp + stride * dim;
  let packedBlock = usize.MAX_VALUE;
  let packedPanels: usize = 0;
  let row = row1;
  while (row < row2) {
    const kvo = kvOffset(row, heads, kvHeads, group, seqQ, seqK, dim, bshd);
    const v0 = visibleKeys(row, seqQ, seqK);
    // Later rows join while they read the same block and see at least the
    // first row's keys and at most 3 more: the next positions of the head
    // or, with one query per head (decoding), the group's other heads.
    // Their first keys then lie at most 3 past the first row's too.
    let rows: usize = 1;
    while (rows < ROWS && row + rows < row2 && kvOffset(row + rows, heads, kvHeads, group, seqQ, seqK, dim, bshd) == kvo) {
      const extra = visibleKeys(row + rows, seqQ, seqK) - v0;
      if (<isize>extra < 0 || extra > ROWS - 1) break;
      rows++;
    }
    const r1 = blockRow(row, 1, rows), r2 = blockRow(row, 2, rows), r3 = blockRow(row, 3, rows);
    const v1 = visibleKeys(r1, seqQ, seqK), v2 = visibleKeys(r2, seqQ, seqK), v3 = visibleKeys(r3, seqQ, seqK);
    const u0 = firstKey(v0, window), u1 = firstKey(v1, window), u2 = firstKey(v2, window), u3 = firstKey(v3, window);
    const panels = (max(max(v1, v2), v3) + PANEL - 1) / PANEL;
    if (kvo != packedBlock) {
      packedBlock = kvo;
      packedPanels = 0;
    }
    if (panels > packedPanels) {
      packPanels(k + kvo, seqK, dim, ks, kp, packedPanels, panels);
      packedPanels = panels;
    }
    const at0 = rowOffset(row, heads, seqQ, dim, bshd), at1 = rowOffset(r1, heads, seqQ, dim, bshd);
    const at2 = rowOffset(r2, heads, seqQ, dim, bshd), at3 = rowOffset(r3, heads, seqQ, dim, bshd);
    const s1 = s + stride * (r1 - row), s2 = s + stride * (r2 - row), s3 = s + stride * (r3 - row);
    scoreTile(q + at0, q + at1, q + at2, q + at3, kp, u0 / PANEL, panels, dim, <f32>scale, s, s1, s2, s3);
    const m0 = softmaxRow(s, u0, v0, lse + (row << 2));
    const m1 = rows > 1 ? softmaxRow(s1, u1, v1, lse + (r1 << 2)) : m0;
    const m2 = rows > 2 ? softmaxRow(s2, u2, v2, lse + (r2 << 2)) : m1;
    const m3 = rows > 3 ? softmaxRow(s3, u3, v3, lse + (r3 << 2)) : m2;
    rowsTimesKeys(s, s1, s2, s3, v + kvo, dim, ks << 2, u0, u1, u2, u3, v0, v1, v2, v3, m0, m1, m2, m3, out + at0, out + at1, out + at2, out + at3, rows);
    row += rows;
  }
}

/**
 * Backward of one row in place: `p_j = exp(s_j − lse)` into `s` and
 * `dS_j = scale · p_j · (g_j − δ)` into `g` (which holds dOut·v_j), for
 * the keys `[from, to)` (lanes around them hold garbage no one reads).
 */
function gradRow(s: usize, g: usize, from: usize, to: usize, lse: f32, delta: f32, scale: f32): void {
  const l = f32x4.splat(lse);
  const dl = f32x4.splat(delta);
  const sc = f32x4.splat(scale);
  for (let j = from & ~3; j < to; j += 4) {
    const o = j << 2;
    const p = exp4(f32x4.sub(v128.load(s + o), l));
    v128.store(s + o, p);
    v128.store(g + o, f32x4.mul(f32x4.mul(p, f32x4.sub(v128.load(g + o), dl)), sc));
  }
}

/**
 * `y_j += Σ_r c_r[j]·x_r` for keys `[j1, j2)` of the rows at `y` (`dim`
 * floats, `rowBytes` apart), over rows 0…3 in order (`four`) or row 0 alone: dK from dS and q, dV
 * from p and dOut. Each key row is read and written once per call.
 */
// @ts-ignore: decorator
@inline function rowsIntoKeys(
  c0: usize, c1: usize, c2: usize, c3: usize, x0: usize, x1: usize, x2: usize, x3: usize,
  y: usize, dim: usize, rowBytes: usize, j1: usize, j2: usize, four: bool,
): void {
  for (let j = j1; j < j2; j++) {
    const jo = j << 2;
    const yj = y + j * rowBytes;
    const a0 = v128.load32_splat(c0 + jo);
    const a1 = four ? v128.load32_splat(c1 + jo) : a0;
    const a2 = four ? v128.load32_splat(c2 + jo) : a0;
    const a3 = four ? v128.load32_splat(c3 + jo) : a0;
    let d: usize = 0;
    for (; d + 4 <= dim; d += 4) {
      const od = d << 2;
      let acc = madd(a0, v128.load(x0 + od), v128.load(yj + od));
      if (four) {
        acc = madd(a1, v128.load(x1 + od), acc);
        acc = madd(a2, v128.load(x2 + od), acc);
        acc = madd(a3, v128.load(x3 + od), acc);
      }
      v128.store(yj + od, acc);
    }
    for (; d < dim; d++) {
      const od = d << 2;
      let acc = load<f32>(yj + od) + f32x4.extract_lane(a0, 0) * load<f32>(x0 + od);
      if (four) {
        acc += f32x4.extract_lane(a1, 0) * load<f32>(x1 + od);
        acc += f32x4.extract_lane(a2, 0) * load<f32>(x2 + od);
        acc += f32x4.extract_lane(a3, 0) * load<f32>(x3 + od);
      }
      store<f32>(yj + od, acc);
    }
  }
}

/** dK and dV of keys `[j1, j2)` from rows 0…3 (`four`) or row 0: {@link rowsIntoKeys} twice. */
// @ts-ignore: decorator
@inline function keyUpdate(
  g0: usize, g1: usize, g2: usize, g3: usize, s0: usize, s1: usize, s2: usize, s3: usize,
  q0: usize, q1: usize, q2: usize, q3: usize, o0: usize, o1: usize, o2: usize, o3: usize,
  dk: usize, dv: usize, dim: usize, keyBytes: usize, j1: usize, j2: usize, four: bool,
): void {
  rowsIntoKeys(g0, g1, g2, g3, q0, q1, q2, q3, dk, dim, keyBytes, j1, j2, four);
  rowsIntoKeys(s0, s1, s2, s3, o0, o1, o2, o3, dv, dim, keyBytes, j1, j2, four);
}

/** {@link keyUpdate} for one row alone. */
function keyUpdateRow(g: usize, s: usize, q: usize, o: usize, dk: usize, dv: usize, dim: usize, keyBytes: usize, j1: usize, j2: usize): void {
  keyUpdate(g, g, g, g, s, s, s, s, q, q, q, q, o, o, o, o, dk, dv, dim, keyBytes, j1, j2, false);
}

/**
 * Backward for query rows `[row1, row2)` (each seeing at most `window`
 * keys), writing every row of dq and the
 * zeroed, then accumulated dK and dV of the blocks they read. dK and dV of a
 * key/value block sum over the `group·Sq` query rows that read it, so both
 * bounds must be multiples of `group·Sq`: a thread then owns whole blocks
 * and adds into them in the same order as one thread would. `scratch` holds
 * the layout above.
 */
export function attentionBackward(
  q: usize, k: usize, v: usize, out: usize, lse: usize, dOut: usize, dq: usize, dk: usize, dv: usize,
  batch: usize, heads: usize, kvHeads: usize, group: usize, seqQ: usize, seqK: usize, dim: usize, scale: f64, window: usize, bshd: bool, scratch: usize,
  row1: usize, row2: usize,
): void {
  if (row2 <= row1) return;
  const rowsPerBlock = group * seqQ;
  const ks = keyStride(kvHeads, dim, bshd);
  const keyBytes = ks << 2;
  // Zero the blocks this call owns: whole, or a key row at a time where a
  // block's rows interleave with other blocks' ([B, Sk, KV, D], KV > 1).
  const rowBytes = dim << 2;
  for (let first = row1; first < row2; first += rowsPerBlock) {
    const kvo = kvOffset(first, heads, kvHeads, group, seqQ, seqK, dim, bshd);
    if (keyBytes == rowBytes) {
      memory.fill(dk + kvo, 0, seqK * rowBytes);
      memory.fill(dv + kvo, 0, seqK * rowBytes);
      continue;
    }
    for (let j: usize = 0; j < seqK; j++) {
      memory.fill(dk + kvo + j * keyBytes, 0, rowBytes);
      memory.fill(dv + kvo + j * keyBytes, 0, rowBytes);
    }
  }
  const stride = paddedKeys(seqK) << 2;
  const kp = scratch;
  const vp = kp + stride * dim;
  const s = vp + stride * dim;
  const g = s + stride * ROWS;
  const sc = <f32>scale;
  let packedBlock = usize.MAX_VALUE;
  let packedPanels: usize = 0;
  let row = row1;
  while (row < row2) {
    const pos = row % seqQ;
    const rows = min(ROWS, seqQ - pos);
    const kvo = kvOffset(row, heads, kvHeads, group, seqQ, seqK, dim, bshd);
    const v0 = visibleKeys(row, seqQ, seqK);
    const panels = (v0 + rows - 1 + PANEL - 1) / PANEL;
    if (kvo != packedBlock) {
      packedBlock = kvo;
      packedPanels = 0;
    }
    if (panels > packedPanels) {
      packPanels(k + kvo, seqK, dim, ks, kp, packedPanels, panels);
      packPanels(v + kvo, seqK, dim, ks, vp, packedPanels, panels);
      packedPanels = panels;
    }
    const b1 = blockRow(0, 1, rows), b2 = blockRow(0, 2, rows), b3 = blockRow(0, 3, rows);
    // A block's rows are consecutive positions of one head: `rb` bytes apart.
    const ro = rowOffset(row, heads, seqQ, dim, bshd);
    const rb = (bshd ? heads * dim : dim) << 2;
    const q0 = q + ro, q1 = q0 + b1 * rb, q2 = q0 + b2 * rb, q3 = q0 + b3 * rb;
    const o0 = dOut + ro, o1 = o0 + b1 * rb, o2 = o0 + b2 * rb, o3 = o0 + b3 * rb;
    const s1 = s + stride * b1, s2 = s + stride * b2, s3 = s + stride * b3;
    const g1 = g + stride * b1, g2 = g + stride * b2, g3 = g + stride * b3;
    const u0 = firstKey(v0, window), u1 = firstKey(v0 + b1, window), u2 = firstKey(v0 + b2, window), u3 = firstKey(v0 + b3, window);
    scoreTile(q0, q1, q2, q3, kp, u0 / PANEL, panels, dim, sc, s, s1, s2, s3);
    scoreTile(o0, o1, o2, o3, vp, u0 / PANEL, panels, dim, 1, g, g1, g2, g3);
    for (let r: usize = 0; r < rows; r++) {
      const x = (row + r) << 2;
      const at = r * rb;
      gradRow(s + stride * r, g + stride * r, firstKey(v0 + r, window), v0 + r, load<f32>(lse + x), dot(o0 + at, out + ro + at, dim), sc);
    }
    rowsTimesKeys(
      g, g1, g2, g3, k + kvo, dim, keyBytes, u0, u1, u2, u3, v0, v0 + b1, v0 + b2, v0 + b3, 1, 1, 1, 1,
      dq + ro, dq + ro + b1 * rb, dq + ro + b2 * rb, dq + ro + b3 * rb, rows,
    );
    const dkb = dk + kvo, dvb = dv + kvo;
    if (rows == ROWS) {
      // Each key takes its rows' terms in row order: the keys before u3 from
      // rows 0–2 alone, [u3, v0) from all four at once, the rest from rows 1–3 alone.
      keyUpdateRow(g, s, q0, o0, dkb, dvb, dim, keyBytes, u0, min(u3, v0));
      keyUpdateRow(g1, s1, q1, o1, dkb, dvb, dim, keyBytes, u1, min(u3, v0 + 1));
      keyUpdateRow(g2, s2, q2, o2, dkb, dvb, dim, keyBytes, u2, min(u3, v0 + 2));
      keyUpdate(g, g1, g2, g3, s, s1, s2, s3, q0, q1, q2, q3, o0, o1, o2, o3, dkb, dvb, dim, keyBytes, u3, v0, true);
      const t = max(v0, u3);
      keyUpdateRow(g1, s1, q1, o1, dkb, dvb, dim, keyBytes, t, v0 + 1);
      keyUpdateRow(g2, s2, q2, o2, dkb, dvb, dim, keyBytes, t, v0 + 2);
      keyUpdateRow(g3, s3, q3, o3, dkb, dvb, dim, keyBytes, t, v0 + 3);
    } else {
      for (let r: usize = 0; r < rows; r++) {
        keyUpdateRow(g + stride * r, s + stride * r, q0 + r * rb, o0 + r * rb, dkb, dvb, dim, keyBytes, firstKey(v0 + r, window), v0 + r);
      }
    }
    row += rows;
  }
}
