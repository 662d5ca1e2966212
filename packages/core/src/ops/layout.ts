import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Tape } from '../autograd/tape.js';
import type { Shape } from '../tensor/index.js';

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
