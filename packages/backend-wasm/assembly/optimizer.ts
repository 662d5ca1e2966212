// AdamW and LoRA importance, evaluated in f64 like the reference and rounded once.

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

// @ts-ignore: decorator
@inline function sign(x: f64): f64 {
  return x > 0 ? 1 : x < 0 ? -1 : x; // NaN stays NaN, ±0 stay zero
}

/**
 * Importance of LoRA entries (see the kernel contract). `scratch` holds
 * `rank·in + in` f64: the column sums `Σ_i sign(W_ij)·B_ik`, then one row of signs.
 */
export function loraImportance(a: usize, b: usize, n: usize, rank: usize, inF: usize, outF: usize, scoreA: usize, scoreB: usize, scratch: usize): void {
  const colSums = scratch;
  const signs = scratch + ((rank * inF) << 3);
  memory.fill(colSums, 0, (rank * inF) << 3);
  for (let i: usize = 0; i < outF; i++) {
    for (let j: usize = 0; j < inF; j++) {
      let w: f64 = 0;
      for (let k: usize = 0; k < rank; k++) w += <f64>load<f32>(b + ((i * rank + k) << 2)) * <f64>load<f32>(a + ((k * inF + j) << 2));
      store<f64>(signs + (j << 3), sign(w));
    }
    for (let k: usize = 0; k < rank; k++) {
      const bik = <f64>load<f32>(b + ((i * rank + k) << 2));
      let s: f64 = 0;
      for (let j: usize = 0; j < inF; j++) {
        const sj = load<f64>(signs + (j << 3));
        const cs = colSums + ((k * inF + j) << 3);
        store<f64>(cs, load<f64>(cs) + sj * bik);
        s += sj * <f64>load<f32>(a + ((k * inF + j) << 2)) * <f64>load<f32>(n + (j << 2));
      }
      store<f32>(scoreB + ((i * rank + k) << 2), <f32>Math.abs(s));
    }
  }
  for (let k: usize = 0; k < rank; k++) {
    for (let j: usize = 0; j < inF; j++) {
      store<f32>(scoreA + ((k * inF + j) << 2), <f32>(<f64>load<f32>(n + (j << 2)) * Math.abs(load<f64>(colSums + ((k * inF + j) << 3)))));
    }
  }
}
