// Soft-capping, cap·tanh(x / cap), and its gradient from the output, f32x4.

import { exp4 } from './exp';

/** Below this |x|, tanh is its Taylor series (to x¹³: error under 2e-9 relative there). */
const SERIES_LIMIT: f32 = 0.4;

/**
 * tanh on four lanes: the Taylor series `x − x³/3 + 2x⁵/15 − …` below
 * |x| = 0.4, where `1 − 2/(e^(2|x|) + 1)` would cancel, that form above
 * (1 at +Inf), the sign put back. NaN stays NaN.
 */
// @ts-ignore: decorator
@inline function tanh4(x: v128): v128 {
  const a = f32x4.abs(x);
  const z = f32x4.mul(a, a);
  let p = f32x4.splat(0.0035921280365724810); // 21844/6081075
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-0.0088632355299021966)); // −1382/155925
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(0.021869488536155203)); // 62/2835
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-0.053968253968253968)); // −17/315
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(0.13333333333333333)); // 2/15
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-0.33333333333333333)); // −1/3
  const series = f32x4.add(a, f32x4.mul(f32x4.mul(a, z), p));
  const one = f32x4.splat(1);
  const closed = f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(exp4(f32x4.add(a, a)), one)));
  const t = v128.bitselect(series, closed, f32x4.lt(a, f32x4.splat(SERIES_LIMIT)));
  return v128.or(t, v128.and(x, f32x4.splat(-0.0)));
}

/** `cap · tanh(x / cap)` on four lanes. */
// @ts-ignore: decorator
@inline function softcap4(x: v128, cap: v128): v128 {
  return f32x4.mul(cap, tanh4(f32x4.div(x, cap)));
}

/** `out = cap · tanh(x / cap)`; the tail goes through the vector path so it rounds like the body. */
export function softcap(x: usize, out: usize, size: usize, cap: f32): void {
  const c = f32x4.splat(cap);
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) v128.store(out + (i << 2), softcap4(v128.load(x + (i << 2)), c));
  for (; i < size; i++) store<f32>(out + (i << 2), f32x4.extract_lane(softcap4(f32x4.splat(load<f32>(x + (i << 2))), c), 0));
}

/** `dy · (1 − (y / cap)²)` on four lanes. */
// @ts-ignore: decorator
@inline function softcapGrad4(y: v128, dy: v128, cap: v128): v128 {
  const t = f32x4.div(y, cap);
  return f32x4.mul(dy, f32x4.sub(f32x4.splat(1), f32x4.mul(t, t)));
}

/** `out = dy · (1 − (y / cap)²)` from the forward's output `y`. */
export function softcapBackward(y: usize, dy: usize, out: usize, size: usize, cap: f32): void {
  const c = f32x4.splat(cap);
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) v128.store(out + (i << 2), softcapGrad4(v128.load(y + (i << 2)), v128.load(dy + (i << 2)), c));
  for (; i < size; i++) {
    store<f32>(out + (i << 2), f32x4.extract_lane(softcapGrad4(f32x4.splat(load<f32>(y + (i << 2))), f32x4.splat(load<f32>(dy + (i << 2))), c), 0));
  }
}
