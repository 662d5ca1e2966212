import type { DeviceTensor } from '../backend/device-tensor.js';
import type { AttentionOptions, DropoutOptions } from '../backend/kernels.js';
import type { Tape } from '../autograd/tape.js';
import { keepNeeded } from './elementwise.js';
import { withScratch } from './scratch.js';

/** Differentiable {@link Kernels.rmsNorm}. */
export function rmsNorm(tape: Tape, x: DeviceTensor, weight: DeviceTensor, eps: number): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.rmsNorm(x, weight, eps));
  tape.record([x, weight], [y], [x, weight], ([dy], needs) => keepNeeded(tape, k.rmsNormBackward(x, weight, dy!, eps), ['dx', 'dWeight'], needs));
  return y;
}

/**
 * Differentiable {@link Kernels.dropout}. The mask is a function of the
 * options alone, so the gradient is the same kernel on `dy`: `dx` is
 * `dy · scale` where `x` was kept and `+0` where it was dropped, and nothing
 * is saved for the backward pass.
 */
export function dropout(tape: Tape, x: DeviceTensor, options: DropoutOptions): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.dropout(x, options));
  tape.record([x], [y], [], ([dy]) => [k.dropout(dy!, options)]);
  return y;
}

/** Differentiable {@link Kernels.rope}; `cos` and `sin` are constants (no gradient). */
export function rope(tape: Tape, x: DeviceTensor, cos: DeviceTensor, sin: DeviceTensor): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.rope(x, cos, sin));
  tape.record([x], [y], [cos, sin], ([dy]) => [k.ropeBackward(dy!, cos, sin)]);
  return y;
}

/**
 * Differentiable causal {@link Kernels.attention} (grouped-query heads).
 * Returns the attention output; the log-sum-exp the backward needs lives on
 * the tape only while a gradient may need it.
 */
export function attention(tape: Tape, q: DeviceTensor, key: DeviceTensor, v: DeviceTensor, options: AttentionOptions = {}): DeviceTensor {
  const k = tape.backend.kernels;
  const { out, lse } = k.attention(q, key, v, options);
  tape.own(out);
  const recorded = tape.record([q, key, v], [out], [q, key, v, out, lse], ([dOut], needs) =>
    keepNeeded(tape, k.attentionBackward(q, key, v, out, lse, dOut!, options), ['dq', 'dk', 'dv'], needs),
  );
  if (recorded) tape.own(lse);
  else tape.backend.free(lse);
  return out;
}

/**
 * Differentiable mean softmax cross-entropy ({@link Kernels.crossEntropy}):
 * targets of −100 are ignored. Returns the loss, shape `[]`.
 */
export function crossEntropy(tape: Tape, logits: DeviceTensor, targets: DeviceTensor): DeviceTensor {
  const k = tape.backend.kernels;
  const { loss, lse } = k.crossEntropy(logits, targets);
  tape.own(loss);
  const recorded = tape.record([logits], [loss], [logits, targets, lse], ([dLoss]) => {
    const seed = tape.seedValue(dLoss!);
    if (seed !== undefined) return [k.crossEntropyBackward(logits, targets, lse, seed)];
    return withScratch(tape, (tmp) => [k.mul(tmp(k.crossEntropyBackward(logits, targets, lse, 1)), dLoss!)]);
  });
  if (recorded) tape.own(lse);
  else tape.backend.free(lse);
  return loss;
}

/** Differentiable {@link Kernels.embedding}: the table's gradient is a scatter-add (ids get none). */
export function embedding(tape: Tape, ids: DeviceTensor, table: DeviceTensor): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.embedding(ids, table));
  tape.record([table], [y], [ids], ([dy]) => [k.embeddingBackward(ids, dy!, table.shape[0])]);
  return y;
}
