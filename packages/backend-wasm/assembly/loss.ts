// Softmax cross-entropy (Hugging Face's ignore index −100): vector exp,
// sums in f64; and the embedding gather and its scatter-add backward.

import { loadFloat } from './convert';
import { exp4 } from './exp';

const IGNORE_INDEX: i32 = -100;

/** Log-sum-exp of one row of `vocab` logits: f32x4 max and exp, f64 sum. */
function rowLse(x: usize, vocab: usize): f64 {
  let m4 = f32x4.splat(-Infinity);
  let c: usize = 0;
  for (; c + 4 <= vocab; c += 4) m4 = f32x4.max(m4, v128.load(x + (c << 2)));
  let top = max<f32>(max<f32>(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)), max<f32>(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)));
  for (; c < vocab; c++) top = max<f32>(top, load<f32>(x + (c << 2)));
  const mv = f32x4.splat(top);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  c = 0;
  for (; c + 4 <= vocab; c += 4) {
    const e = exp4(f32x4.sub(v128.load(x + (c << 2)), mv));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 2, 3)));
  }
  const s = f64x2.add(s0, s1);
  let sum = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; c < vocab; c++) sum += <f64>f32x4.extract_lane(exp4(f32x4.splat(load<f32>(x + (c << 2)) - top)), 0);
  return <f64>top + Math.log(sum);
}

/**
 * Forward, per row: `lse` (f32) and the row's loss term `lse − logit[target]`
 * as f64 into `terms` (NaN for a target out of range; not written for an
 * ignored row).
 */
export function crossEntropyRows(logits: usize, targets: usize, rows: usize, vocab: usize, lse: usize, terms: usize): void {
  for (let r: usize = 0; r < rows; r++) {
    const o = logits + ((r * vocab) << 2);
    const l = rowLse(o, vocab);
    store<f32>(lse + (r << 2), <f32>l);
    const t = load<i32>(targets + (r << 2));
    if (t == IGNORE_INDEX) continue;
    store<f64>(terms + (r << 3), t >= 0 && <usize>t < vocab ? l - <f64>load<f32>(o + (<usize>t << 2)) : NaN);
  }
}

/** The mean of the counted rows' `terms`, added in row order in f64, into `loss[0]` (NaN when no row counts). */
export function crossEntropyMean(targets: usize, rows: usize, terms: usize, loss: usize): void {
  let total: f64 = 0;
  let count: usize = 0;
  for (let r: usize = 0; r < rows; r++) {
    if (load<i32>(targets + (r << 2)) == IGNORE_INDEX) continue;
    count++;
    total += load<f64>(terms + (r << 3));
  }
  store<f32>(loss, count > 0 ? <f32>(total / <f64>count) : NaN);
}

/**
 * Gradient of `scale · loss` for `rows` rows, with `factor = scale / counted
 * rows` of the whole batch (the caller counts them, so that a part of the
 * rows scales as the whole does): `factor · softmax` on f32x4, the target
 * entry redone in f64; ignored rows get zeros.
 */
export function crossEntropyBackward(logits: usize, targets: usize, lse: usize, rows: usize, vocab: usize, factor: f64, out: usize): void {
  memory.fill(out, 0, (rows * vocab) << 2);
  const f4 = f32x4.splat(<f32>factor);
  for (let r: usize = 0; r < rows; r++) {
    const t = load<i32>(targets + (r << 2));
    if (t == IGNORE_INDEX) continue;
    const x = logits + ((r * vocab) << 2);
    const y = out + ((r * vocab) << 2);
    if (t < 0 || <usize>t >= vocab) {
      for (let c: usize = 0; c < vocab; c++) store<f32>(y + (c << 2), NaN);
      continue;
    }
    const l = load<f32>(lse + (r << 2));
    const lv = f32x4.splat(l);
    let c: usize = 0;
    for (; c + 4 <= vocab; c += 4) v128.store(y + (c << 2), f32x4.mul(f4, exp4(f32x4.sub(v128.load(x + (c << 2)), lv))));
    for (; c < vocab; c++) store<f32>(y + (c << 2), <f32>factor * f32x4.extract_lane(exp4(f32x4.splat(load<f32>(x + (c << 2)) - l)), 0));
    const target = <usize>t << 2;
    store<f32>(y + target, <f32>(factor * (Math.exp(<f64>load<f32>(x + target) - <f64>l) - 1)));
  }
}

/** Gathers rows of `table` (dtype code) for `count` ids; out-of-range ids give NaN rows. */
export function embedding(ids: usize, count: usize, table: usize, dtype: i32, vocab: usize, dim: usize, out: usize): void {
  for (let r: usize = 0; r < count; r++) {
    const id = load<i32>(ids + (r << 2));
    const o = out + ((r * dim) << 2);
    if (id >= 0 && <usize>id < vocab) {
      const base = <usize>id * dim;
      for (let d: usize = 0; d < dim; d++) store<f32>(o + (d << 2), loadFloat(table, base + d, dtype));
    } else {
      for (let d: usize = 0; d < dim; d++) store<f32>(o + (d << 2), NaN);
    }
  }
}

/**
 * Scatter-adds rows of `dy` into `out` `[vocab, dim]`, zeroed first. f32
 * accumulation in id order: an f64 table would need eight bytes per entry of
 * a vocabulary-sized gradient.
 */
export function embeddingBackward(ids: usize, count: usize, dy: usize, vocab: usize, dim: usize, out: usize): void {
  memory.fill(out, 0, (vocab * dim) << 2);
  for (let r: usize = 0; r < count; r++) {
    const id = load<i32>(ids + (r << 2));
    if (id < 0 || <usize>id >= vocab) continue;
    const o = out + ((<usize>id * dim) << 2);
    const g = dy + ((r * dim) << 2);
    let d: usize = 0;
    for (; d + 4 <= dim; d += 4) v128.store(o + (d << 2), f32x4.add(v128.load(o + (d << 2)), v128.load(g + (d << 2))));
    for (; d < dim; d++) store<f32>(o + (d << 2), load<f32>(o + (d << 2)) + load<f32>(g + (d << 2)));
  }
}
