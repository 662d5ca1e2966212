// Exact f16/bf16 widening and round-to-nearest-even narrowing on raw bits,
// shared by the kernels that read stored base weights and by `cast`.

/** Element size codes used by every kernel that takes a weight dtype: 0 f32, 1 f16, 2 bf16. */
export const F32: i32 = 0;
export const F16: i32 = 1;
export const BF16: i32 = 2;

/** Widens the bits of an f16 exactly. */
// @ts-ignore: decorator
@inline export function f16ToF32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp == 0x1f) return reinterpret<f32>(sign | 0x7f800000 | (man << 13));
  if (exp == 0) {
    // Subnormal (or zero): man · 2⁻²⁴, exact in f32.
    return reinterpret<f32>(sign | reinterpret<u32>(<f32>man * 5.9604644775390625e-8));
  }
  return reinterpret<f32>(sign | ((exp + 112) << 23) | (man << 13));
}

/** Narrows an f32 to f16 bits, rounding to nearest, ties to even. */
export function f32ToF16(x: f32): u32 {
  const bits = reinterpret<u32>(x);
  const sign = (bits >> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;
  // 65520 is the tie between 65504 (odd mantissa) and 2¹⁶: it and everything above overflow.
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs < 0x38800000) {
    // Subnormal result: scale by 2²⁴ (exact) and round to an integer, ties to even.
    return sign | <u32>nearest<f32>(reinterpret<f32>(abs) * 16777216.0);
  }
  let result = (((abs >> 23) - 112) << 10) | ((abs & 0x7fffff) >> 13);
  const rest = abs & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (result & 1) != 0)) result++;
  return sign | result;
}

/** Narrows an f32 to bf16 bits, rounding to nearest, ties to even. */
// @ts-ignore: decorator
@inline export function f32ToBf16(x: f32): u32 {
  const bits = reinterpret<u32>(x);
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >> 16) & 0x8000) | 0x7fc0;
  return (bits + 0x7fff + ((bits >> 16) & 1)) >> 16;
}

/** Element `index` of a float array of the given dtype code, widened to f32. */
// @ts-ignore: decorator
@inline export function loadFloat(base: usize, index: usize, dtype: i32): f32 {
  if (dtype == F32) return load<f32>(base + (index << 2));
  const h = <u32>load<u16>(base + (index << 1));
  return dtype == F16 ? f16ToF32(h) : reinterpret<f32>(h << 16);
}

/** `cast`: converts `n` floats from dtype `from` to dtype `to`. */
export function castFloats(src: usize, from: i32, dst: usize, to: i32, n: usize): void {
  for (let i: usize = 0; i < n; i++) {
    const v = loadFloat(src, i, from);
    if (to == F32) store<f32>(dst + (i << 2), v);
    else store<u16>(dst + (i << 1), <u16>(to == F16 ? f32ToF16(v) : f32ToBf16(v)));
  }
}
