import { adamwGeometry, type AdamwOptions, type DeviceTensor } from '@lorafuse/core';
import { f32, groupsFor, type KernelContext } from './context.js';
import { MAIN_1D, cachedShader } from './wgsl.js';

/**
 * The AdamW update; with `guarded`, the norm and loss bound after the moments
 * decide it on the device: nothing changes unless both are finite (tested
 * on the bits, which fast-math compilers cannot fold away), and a positive
 * `maxNorm` clips the gradient as the host would.
 */
const adamwShader = cachedShader(
  (guarded: boolean) => /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
${
  guarded
    ? `@group(0) @binding(4) var<storage, read> norm: array<f32>;
@group(0) @binding(5) var<storage, read> loss: array<f32>;
fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }`
    : ''
}
struct P { n: u32, decay: f32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, stepSize: f32, correction2: f32, eps: f32, gradScale: f32, maxNorm: f32 }
@group(0) @binding(${guarded ? 6 : 4}) var<uniform> p: P;
${MAIN_1D}
  if (i >= p.n) { return; }
  var scale = p.gradScale;
  ${
    guarded
      ? `let total = norm[0];
  if (!finite(total) || !finite(loss[0])) { return; }
  if (p.maxNorm > 0.0) { scale = scale * min(1.0, p.maxNorm / (total + 1e-6)); }`
      : ''
  }
  let g = scale * grad[i];
  let w = param[i] - p.decay * param[i];
  let mi = p.beta1 * m[i] + p.oneMinusBeta1 * g;
  let vi = p.beta2 * v[i] + p.oneMinusBeta2 * g * g;
  param[i] = w - p.stepSize * mi / (sqrt(vi) / p.correction2 + p.eps);
  m[i] = mi;
  v[i] = vi;
}`,
);

/** {@link Kernels.adamwStep}, in place; the bias corrections are computed on the host in float64. */
export function adamwStep(ctx: KernelContext, param: DeviceTensor, grad: DeviceTensor, m: DeviceTensor, v: DeviceTensor, options: AdamwOptions): void {
  const { size, gradScale } = adamwGeometry(param, grad, m, v, options);
  const { lr, beta1, beta2, eps, weightDecay, step, guard } = options;
  const operands = guard ? [param, grad, m, v, guard.norm, guard.loss] : [param, grad, m, v];
  const uniforms = [
    lr * weightDecay,
    beta1,
    1 - beta1,
    beta2,
    1 - beta2,
    lr / (1 - beta1 ** step),
    Math.sqrt(1 - beta2 ** step),
    eps,
    gradScale,
    guard?.maxNorm ?? 0,
  ].map(f32);
  ctx.run(
    adamwShader(guard !== undefined),
    operands.map((t) => ctx.buffer(t)),
    [size, ...uniforms],
    groupsFor(size),
  );
}
