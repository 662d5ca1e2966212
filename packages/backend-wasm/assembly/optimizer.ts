// AdamW, evaluated in f64 like the reference and rounded once.

/**
 * One torch.optim.AdamW step in place. `stepSize = lr / (1 − β₁ᵗ)` and
 * `correction2 = sqrt(1 − β₂ᵗ)` come from the caller, computed once.
 */
export function adamwStep(
  param: usize, grad: usize, m: usize, v: usize, size: usize,
  lr: f64, beta1: f64, beta2: f64, eps: f64, weightDecay: f64, gradScale: f64, stepSize: f64, correction2: f64,
): void {
  for (let i: usize = 0; i < size; i++) {
    const o = i << 2;
    const p0 = <f64>load<f32>(param + o);
    const g = gradScale * <f64>load<f32>(grad + o);
    const p = p0 - lr * weightDecay * p0;
    const mi = beta1 * <f64>load<f32>(m + o) + (1 - beta1) * g;
    const vi = beta2 * <f64>load<f32>(v + o) + (1 - beta2) * g * g;
    store<f32>(param + o, <f32>(p - (stepSize * mi) / (Math.sqrt(vi) / correction2 + eps)));
    store<f32>(m + o, <f32>mi);
    store<f32>(v + o, <f32>vi);
  }
}
