// exp on f32x4: e^x = 2ⁿ·e^r with n = round(x·log₂e), |r| ≤ ln2/2, e^r by
// a degree-6 polynomial (Cephes expf; about 1 ulp). n comes from adding
// 1.5·2²³, which rounds x·log₂e to an integer (ties to even, as `nearest`)
// and leaves n + 127 in the low bits, so 2ⁿ is one add and one shift: no
// float-to-int conversion, which V8 emits as a long sequence. Lanes past the
// f32 range are replaced at the end by +Inf or 0 (so they need no clamp);
// NaN stays NaN.
const EXP_HI: f32 = 88.3762626647949;
const EXP_LO: f32 = -87.3365447504019;
/** 1.5·2²³: adding it rounds any |v| < 2²² to an integer in the low mantissa bits. */
const ROUNDER: f32 = 12582912;

/** e^x on four f32 lanes. */
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(ROUNDER));
  const n = f32x4.sub(t, f32x4.splat(ROUNDER));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // The low bits of t hold n (two's complement) + the rounder's zeros: shifting drops the rest.
  const scale = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  const e = f32x4.mul(p, scale);
  const over = f32x4.gt(x, f32x4.splat(EXP_HI));
  const under = f32x4.lt(x, f32x4.splat(EXP_LO));
  return v128.bitselect(f32x4.splat(Infinity), v128.andnot(e, under), over);
}
