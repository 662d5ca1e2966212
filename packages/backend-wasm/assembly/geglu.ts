// GeGLU, gelu(gate) ⊙ up with GELU's tanh approximation, and its gradient,
// all f32x4. gelu(x) = x·σ(2u) with u = √(2/π)·x·(1 + 0.044715·x²): equal
// to PyTorch's ½·x·(1 + tanh(u)), without that form's cancellation for
// negative x, through the same vector σ as SiLU.

import { sigmoid4 } from './elementwise';

/** √(2/π). */
const SLOPE: f32 = 0.7978845608028654;
/** The cubic coefficient of u. */
const CUBIC: f32 = 0.044715;

/** σ(2u(x)): the factor gelu applies to x. */
// @ts-ignore: decorator
@inline function gate4(x: v128): v128 {
  const inner = f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(CUBIC), f32x4.mul(x, x)));
  return sigmoid4(f32x4.mul(f32x4.mul(x, inner), f32x4.splat(2 * SLOPE)));
}

/** gelu'(x) = s + 2x·s·(1 − s)·u'(x) with s = σ(2u), u' = √(2/π)·(1 + 3·0.044715·x²). */
// @ts-ignore: decorator
@inline function geluGrad4(x: v128, s: v128): v128 {
  const du = f32x4.mul(f32x4.splat(SLOPE), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(3 * CUBIC), f32x4.mul(x, x))));
  const curve = f32x4.mul(f32x4.mul(f32x4.add(x, x), f32x4.mul(s, f32x4.sub(f32x4.splat(1), s))), du);
  return f32x4.add(s, curve);
}

/** `out = gelu(gate) ⊙ up` on four lanes. */
// @ts-ignore: decorator
@inline function geglu4(g: v128, u: v128): v128 {
  return f32x4.mul(f32x4.mul(g, gate4(g)), u);
}

/** `out = gelu(gate) ⊙ up`; the tail goes through the vector path so it rounds like the body. */
export function geglu(gate: usize, up: usize, out: usize, size: usize): void {
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) v128.store(out + (i << 2), geglu4(v128.load(gate + (i << 2)), v128.load(up + (i << 2))));
  for (; i < size; i++) {
    const o = i << 2;
    store<f32>(out + o, f32x4.extract_lane(geglu4(f32x4.splat(load<f32>(gate + o)), f32x4.splat(load<f32>(up + o))), 0));
  }
}

/** `dGate = dy ⊙ up ⊙ gelu'(gate)`, `dUp = dy ⊙ gelu(gate)` on four lanes, stored at byte `o`. */
// @ts-ignore: decorator
@inline function gegluGrads4(g: v128, u: v128, d: v128, dGate: usize, dUp: usize, o: usize, lanes: usize): void {
  const s = gate4(g);
  const dg = f32x4.mul(f32x4.mul(d, u), geluGrad4(g, s));
  const du = f32x4.mul(d, f32x4.mul(g, s));
  if (lanes == 4) {
    v128.store(dGate + o, dg);
    v128.store(dUp + o, du);
  } else {
    store<f32>(dGate + o, f32x4.extract_lane(dg, 0));
    store<f32>(dUp + o, f32x4.extract_lane(du, 0));
  }
}

/** The gradients of {@link geglu}. */
export function gegluBackward(gate: usize, up: usize, dy: usize, dGate: usize, dUp: usize, size: usize): void {
  let i: usize = 0;
  for (; i + 4 <= size; i += 4) {
    const o = i << 2;
    gegluGrads4(v128.load(gate + o), v128.load(up + o), v128.load(dy + o), dGate, dUp, o, 4);
  }
  for (; i < size; i++) {
    const o = i << 2;
    gegluGrads4(f32x4.splat(load<f32>(gate + o)), f32x4.splat(load<f32>(up + o)), f32x4.splat(load<f32>(dy + o)), dGate, dUp, o, 1);
  }
}
