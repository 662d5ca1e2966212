import { adamwGeometry, type AdamwOptions, type DeviceTensor } from '@lorafuse/core';
import { f32, groupsFor, type KernelContext } from './context.js';
import { MAIN_1D } from './wgsl.js';

const ADAMW = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
struct P { n: u32, decay: f32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, stepSize: f32, correction2: f32, eps: f32, gradScale: f32 }
@group(0) @binding(4) var<uniform> p: P;
${MAIN_1D}
  if (i >= p.n) { return; }
  let g = p.gradScale * grad[i];
  let w = param[i] - p.decay * param[i];
  let mi = p.beta1 * m[i] + p.oneMinusBeta1 * g;
  let vi = p.beta2 * v[i] + p.oneMinusBeta2 * g * g;
  param[i] = w - p.stepSize * mi / (sqrt(vi) / p.correction2 + p.eps);
  m[i] = mi;
  v[i] = vi;
}`;

/** {@link Kernels.adamwStep}, in place; the bias corrections are computed on the host in float64. */
export function adamwStep(ctx: KernelContext, param: DeviceTensor, grad: DeviceTensor, m: DeviceTensor, v: DeviceTensor, options: AdamwOptions): void {
  const { size, gradScale } = adamwGeometry(param, grad, m, v, options);
  const { lr, beta1, beta2, eps, weightDecay, step } = options;
  const buffers = [param, grad, m, v].map((t) => ctx.buffer(t));
  const uniforms = [lr * weightDecay, beta1, 1 - beta1, beta2, 1 - beta2, lr / (1 - beta1 ** step), Math.sqrt(1 - beta2 ** step), eps, gradScale].map(f32);
  ctx.run(ADAMW, buffers, [size, ...uniforms], groupsFor(size));
}
