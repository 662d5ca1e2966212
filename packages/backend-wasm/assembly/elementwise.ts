// Elementwise kernels, all f32x4 SIMD. A single f32 operation rounds exactly
// as the reference's float64-then-f32 does; SiLU and SwiGLU use a vector exp
// accurate to about one ulp.

import { exp4 } from './exp';

/** Operation codes of {@link binary}. */
const ADD: i32 = 0;

// @ts-ignore: decorator
@inline function op4(kind: i32, x: v128, y: v128): v128 {
  return kind == ADD ? f32x4.add(x, y) : f32x4.mul(x, y);
}

// @ts-ignore: decorator
@inline function op1(kind: i32, x: f32, y: f32): f32 {
  return kind == ADD ? x + y : x * y;
}

/** `out[i..i+n) = a[i..] ∘ b[0..n)` for one repetition of `b`. */
function binaryRun(kind: i32, a: usize, b: usize, out: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (i << 2), op4(kind, v128.load(a + (i << 2)), v128.load(b + (i << 2))));
  for (; i < n; i++) store<f32>(out + (i << 2), op1(kind, load<f32>(a + (i << 2)), load<f32>(b + (i << 2))));
}

/** `add` (kind 0) or `mul` (kind 1): `out[i] = a[i] ∘ b[i mod bSize]`. */
export function binary(kind: i32, a: usize, b: usize, out: usize, size: usize, bSize: usize): void {
  if (size == 0) return;
  if (bSize == 1) {
    const y = load<f32>(b);
    const yv = f32x4.splat(y);
    let i: usize = 0;
    for (; i + 4 <= size; i += 4) v128.store(out + (i << 2), op4(kind, v128.load(a + (i << 2)), yv));
    for (; i < size; i++) store<f32>(out + (i << 2), op1(kind, load<f32>(a + (i << 2)), y));
    return;
  }
  for (let o: usize = 0; o < size; o += bSize) binaryRun(kind, a + (o << 2), b, out + (o << 2), bSize);
}

/** `out = factor · x`. */
export function scale(x: usize, out: usize, size: usize, factor: f32): void {
  const f = f32x4.splat(factor);
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) v128.store(out + (i << 2), f32x4.mul(v128.load(x + (i << 2)), f));
  for (; i < size; i++) store<f32>(out + (i << 2), load<f32>(x + (i << 2)) * factor);
}

/** `out = |x|`: the sign bit cleared, exactly. */
export function abs(x: usize, out: usize, size: usize): void {
  const mask = i32x4.splat(0x7fffffff);
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) v128.store(out + (i << 2), v128.and(v128.load(x + (i << 2)), mask));
  for (; i < size; i++) store<u32>(out + (i << 2), load<u32>(x + (i << 2)) & 0x7fffffff);
}

/** `out = √x`: WebAssembly's square root is IEEE's, correctly rounded (−0 stays −0, negatives give NaN). */
export function sqrt(x: usize, out: usize, size: usize): void {
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) v128.store(out + (i << 2), f32x4.sqrt(v128.load(x + (i << 2))));
  for (; i < size; i++) store<f32>(out + (i << 2), Mathf.sqrt(load<f32>(x + (i << 2))));
}

/** σ(x) = 1 / (1 + e^(−x)) on four lanes. */
// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

/** σ(x) of one value, through the vector path so tails round like the body. */
// @ts-ignore: decorator
@inline function sigmoid1(x: f32): f32 {
  return f32x4.extract_lane(sigmoid4(f32x4.splat(x)), 0);
}

/** `out = x · σ(x)`. */
export function silu(x: usize, out: usize, size: usize): void {
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) {
    const v = v128.load(x + (i << 2));
    v128.store(out + (i << 2), f32x4.mul(v, sigmoid4(v)));
  }
  for (; i < size; i++) {
    const v = load<f32>(x + (i << 2));
    store<f32>(out + (i << 2), v * sigmoid1(v));
  }
}

/** `dy · silu'(x) = dy · σ(x) · (1 + x · (1 − σ(x)))` on four lanes. */
// @ts-ignore: decorator
@inline function siluGrad4(x: v128, dy: v128): v128 {
  const s = sigmoid4(x);
  const one = f32x4.splat(1);
  return f32x4.mul(f32x4.mul(dy, s), f32x4.add(one, f32x4.mul(x, f32x4.sub(one, s))));
}

/** `out = dy · σ(x) · (1 + x · (1 − σ(x)))`. */
export function siluBackward(x: usize, dy: usize, out: usize, size: usize): void {
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) v128.store(out + (i << 2), siluGrad4(v128.load(x + (i << 2)), v128.load(dy + (i << 2))));
  for (; i < size; i++) {
    store<f32>(out + (i << 2), f32x4.extract_lane(siluGrad4(f32x4.splat(load<f32>(x + (i << 2))), f32x4.splat(load<f32>(dy + (i << 2)))), 0));
  }
}

/** `out = silu(gate) ⊙ up`. */
export function swiglu(gate: usize, up: usize, out: usize, size: usize): void {
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) {
    const g = v128.load(gate + (i << 2));
    v128.store(out + (i << 2), f32x4.mul(f32x4.mul(g, sigmoid4(g)), v128.load(up + (i << 2))));
  }
  for (; i < size; i++) {
    const g = load<f32>(gate + (i << 2));
    store<f32>(out + (i << 2), g * sigmoid1(g) * load<f32>(up + (i << 2)));
  }
}

/** `dGate = dy ⊙ up ⊙ silu'(gate)`, `dUp = dy ⊙ silu(gate)`. */
export function swigluBackward(gate: usize, up: usize, dy: usize, dGate: usize, dUp: usize, size: usize): void {
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) {
    const o = i << 2;
    const g = v128.load(gate + o);
    const d = v128.load(dy + o);
    v128.store(dGate + o, siluGrad4(g, f32x4.mul(d, v128.load(up + o))));
    v128.store(dUp + o, f32x4.mul(d, f32x4.mul(g, sigmoid4(g))));
  }
  for (; i < size; i++) {
    const o = i << 2;
    const g = f32x4.splat(load<f32>(gate + o));
    const d = f32x4.splat(load<f32>(dy + o));
    store<f32>(dGate + o, f32x4.extract_lane(siluGrad4(g, f32x4.mul(d, f32x4.splat(load<f32>(up + o)))), 0));
    store<f32>(dUp + o, f32x4.extract_lane(f32x4.mul(d, f32x4.mul(g, sigmoid4(g))), 0));
  }
}

/** `param[i] = 0` (or `init[i]` when `init ≠ 0`) wherever `mask[i] ≠ 0`. */
export function maskApply(param: usize, mask: usize, init: usize, size: usize): void {
  for (let i: usize = 0; i < size; i++) {
    if (load<u8>(mask + i) != 0) store<f32>(param + (i << 2), init != 0 ? load<f32>(init + (i << 2)) : 0);
  }
}
