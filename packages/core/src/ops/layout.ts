import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Tape } from '../autograd/tape.js';
import { Tensor, type Shape } from '../tensor/index.js';
import { withScratch } from './scratch.js';

/** Differentiable {@link Kernels.reshape}. */
export function reshape(tape: Tape, x: DeviceTensor, shape: Shape): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.reshape(x, shape));
  tape.record([x], [y], [], ([dy]) => [k.reshape(dy!, x.shape)]);
  return y;
}

/** Differentiable {@link Kernels.permute}; the gradient applies the inverse permutation. */
export function permute(tape: Tape, x: DeviceTensor, axes: readonly number[]): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.permute(x, axes));
  const inverse = axes.map((_, i) => axes.indexOf(i));
  tape.record([x], [y], [], ([dy]) => [k.permute(dy!, inverse)]);
  return y;
}

/** Differentiable {@link Kernels.sum} (shape `[]`). */
export function sum(tape: Tape, x: DeviceTensor): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.sum(x));
  tape.record([x], [y], [], ([dy]) => [k.mul(tape.ones(x.shape), dy!)]);
  return y;
}

/**
 * Splits `x` along its last dimension into consecutive parts of `sizes`
 * (which sum to that dimension) with {@link Kernels.slice}: a fused
 * projection's output into its projections. The gradient joins the parts'
 * gradients back with {@link Kernels.concat} (zeros for a part nothing used).
 */
export function split(tape: Tape, x: DeviceTensor, sizes: readonly number[]): DeviceTensor[] {
  const k = tape.backend.kernels;
  const axis = x.shape.length - 1;
  let start = 0;
  const parts = sizes.map((n) => {
    const part = tape.own(k.slice(x, axis, start, n));
    start += n;
    return part;
  });
  tape.record([x], parts, [], (grads) =>
    withScratch(tape, (tmp) => {
      const filled = grads.map((g, i) => g ?? tmp(tape.backend.upload(new Tensor('f32', parts[i].shape))));
      let joined = filled[0];
      for (let i = 1; i < filled.length; i++) {
        const previous = joined;
        joined = k.concat(previous, filled[i], axis);
        // Joins of more than two parts free the partial joins.
        if (i > 1) tmp(previous);
      }
      return [joined];
    }),
  );
  return parts;
}
