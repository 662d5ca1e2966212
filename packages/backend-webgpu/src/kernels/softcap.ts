import { softcapGeometry, type DeviceTensor } from '@lorafuse/core';
import { f32, type KernelContext } from './context.js';
import { map } from './elementwise.js';

// Soft-capping, cap·tanh(x / cap), and its gradient from the output. WGSL's
// tanh may lose relative accuracy near 0 (and compute sinh/cosh, which
// overflow), so tanh is the Taylor series below |x| = 0.4 (to x¹³: error
// under 2e-9 relative there) and 1 − 2/(e^(2|x|) + 1) above, with the
// exponent clamped where the result is 1 in f32 anyway; the sign is put back on
// the bits, and a NaN input gives NaN whatever the compiler assumes.
const TANH = /* wgsl */ `
fn tanhT(x: T) -> T {
  let a = abs(x);
  let z = a * a;
  let series = a + a * z * (-0.3333333333333333 + z * (0.13333333333333333 + z * (-0.05396825396825397
    + z * (0.021869488536155203 + z * (-0.008863235529902197 + z * 0.003592128036572481)))));
  let closed = 1.0 - 2.0 / (exp(min(a + a, T(88.0))) + 1.0);
  let t = select(closed, series, a < T(0.4));
  return bitcast<T>(bitcast<U>(t) | (bitcast<U>(x) & U(0x80000000u)));
}
`;

/** {@link Kernels.softcap}. */
export function softcap(ctx: KernelContext, x: DeviceTensor, cap: number): DeviceTensor {
  const g = softcapGeometry('softcap', cap, x);
  return map(ctx, 'let x = x0[i]; y0[i] = select(p.f * tanhT(x / p.f), x, nanAt(x));', [x], g.shape, g.size, {
    extra: [0, f32(cap)],
    vector: true,
    prelude: TANH,
  })[0];
}

/** {@link Kernels.softcapBackward}: `dy · (1 − (y / cap)²)`. */
export function softcapBackward(ctx: KernelContext, y: DeviceTensor, dy: DeviceTensor, cap: number): DeviceTensor {
  const g = softcapGeometry('softcapBackward', cap, y, dy);
  return map(ctx, 'let t = x0[i] / p.f; y0[i] = x1[i] * (1.0 - t * t);', [y, dy], g.shape, g.size, { extra: [0, f32(cap)], vector: true })[0];
}
