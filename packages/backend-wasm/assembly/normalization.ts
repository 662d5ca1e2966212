// RMSNorm and RoPE, forward and backward, in f64 like the reference.

function inverseRms(x: usize, dim: usize, eps: f64): f64 {
  let ss: f64 = 0;
  for (let d: usize = 0; d < dim; d++) {
    const v = <f64>load<f32>(x + (d << 2));
    ss += v * v;
  }
  return 1 / Math.sqrt(ss / <f64>dim + eps);
}

/** `y = weight ⊙ x / sqrt(mean(x²) + eps)` per row. */
export function rmsNorm(x: usize, weight: usize, out: usize, rows: usize, dim: usize, eps: f64): void {
  for (let r: usize = 0; r < rows; r++) {
    const o = (r * dim) << 2;
    const inv = inverseRms(x + o, dim, eps);
    for (let d: usize = 0; d < dim; d++) {
      store<f32>(out + o + (d << 2), <f32>(<f64>load<f32>(weight + (d << 2)) * <f64>load<f32>(x + o + (d << 2)) * inv));
    }
  }
}

/**
 * RMSNorm gradients of `rows` rows: `dx`, and for each block of
 * `blockRows` rows (the last may be shorter) that block's `Σ dy ⊙ x̂` as
 * `dim` f64 at `partials + block·dim·8`. Blocks are fixed by the caller,
 * not by how rows are split across threads, so {@link rmsNormWeightGrad}
 * adds the same numbers in the same order for any split.
 */
export function rmsNormBackward(x: usize, weight: usize, dy: usize, dx: usize, rows: usize, dim: usize, eps: f64, blockRows: usize, partials: usize): void {
  for (let r: usize = 0; r < rows; r++) {
    const acc = partials + (((r / blockRows) * dim) << 3);
    if (r % blockRows == 0) memory.fill(acc, 0, dim << 3);
    const o = (r * dim) << 2;
    const inv = inverseRms(x + o, dim, eps);
    let dot: f64 = 0;
    for (let d: usize = 0; d < dim; d++) {
      dot += <f64>load<f32>(dy + o + (d << 2)) * <f64>load<f32>(weight + (d << 2)) * <f64>load<f32>(x + o + (d << 2)) * inv;
    }
    const mean = dot / <f64>dim;
    for (let d: usize = 0; d < dim; d++) {
      const g = <f64>load<f32>(dy + o + (d << 2));
      const xhat = <f64>load<f32>(x + o + (d << 2)) * inv;
      store<f32>(dx + o + (d << 2), <f32>(inv * (g * <f64>load<f32>(weight + (d << 2)) - xhat * mean)));
      store<f64>(acc + (d << 3), load<f64>(acc + (d << 3)) + g * xhat);
    }
  }
}

/** `dWeight` (f32) from the `blocks` partial sums of {@link rmsNormBackward}, added in block order in f64. */
export function rmsNormWeightGrad(partials: usize, blocks: usize, dim: usize, dWeight: usize): void {
  for (let d: usize = 0; d < dim; d++) {
    let sum: f64 = 0;
    for (let b: usize = 0; b < blocks; b++) sum += load<f64>(partials + ((b * dim + d) << 3));
    store<f32>(dWeight + (d << 2), <f32>sum);
  }
}

/** RoPE forward (`backward = false`) or backward on `[batch, heads, seq, dim]`; tables `[seq, dim]` or `[batch, seq, dim]`. */
export function rope(x: usize, cos: usize, sin: usize, out: usize, batch: usize, heads: usize, seq: usize, dim: usize, perBatch: bool, backward: bool): void {
  const half = dim >> 1;
  for (let b: usize = 0; b < batch; b++) {
    for (let h: usize = 0; h < heads; h++) {
      for (let s: usize = 0; s < seq; s++) {
        const o = (((b * heads + h) * seq + s) * dim) << 2;
        const t = (((perBatch ? b * seq : 0) + s) * dim) << 2;
        for (let d: usize = 0; d < half; d++) {
          const lo = <f64>load<f32>(x + o + (d << 2));
          const hi = <f64>load<f32>(x + o + ((d + half) << 2));
          const cLo = <f64>load<f32>(cos + t + (d << 2));
          const cHi = <f64>load<f32>(cos + t + ((d + half) << 2));
          const sLo = <f64>load<f32>(sin + t + (d << 2));
          const sHi = <f64>load<f32>(sin + t + ((d + half) << 2));
          if (backward) {
            store<f32>(out + o + (d << 2), <f32>(lo * cLo + hi * sHi));
            store<f32>(out + o + ((d + half) << 2), <f32>(hi * cHi - lo * sLo));
          } else {
            store<f32>(out + o + (d << 2), <f32>(lo * cLo - hi * sLo));
            store<f32>(out + o + ((d + half) << 2), <f32>(hi * cHi + lo * sHi));
          }
        }
      }
    }
  }
}
