import type { DeviceTensor } from '../backend/device-tensor.js';
import type { MatmulOptions } from '../backend/kernels.js';
import type { Tape } from '../autograd/tape.js';
import { asMatrix, sumToShape, withScratch } from './scratch.js';

/**
 * Differentiable {@link Kernels.matmul}: `op(a) · op(b)`, batched or with
 * one side shared by every batch. The gradients are matmuls with the
 * transposes swapped; a shared side's gradient sums over the batch.
 */
export function matmul(tape: Tape, a: DeviceTensor, b: DeviceTensor, options: MatmulOptions = {}): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.matmul(a, b, options));
  const { transA = false, transB = false } = options;
  tape.record([a, b], [y], [a, b], ([dy], [needA, needB]) =>
    withScratch(tape, (tmp) => {
      const dy0 = dy!;
      let da: DeviceTensor | undefined;
      let db: DeviceTensor | undefined;
      if (needA) {
        const full = transA ? k.matmul(b, dy0, { transA: transB, transB: true }) : k.matmul(dy0, b, { transB: !transB });
        da = full.size === a.size ? reshaped(tape, full, a) : sumToShape(tape, tmp(full), a.shape);
      }
      if (needB) {
        if (b.shape.length === 2 && a.shape.length > 2 && !transA) {
          // b shared by every batch of a (a Linear weight): one product over all rows.
          const a2 = tmp(asMatrix(k, a));
          const dy2 = tmp(asMatrix(k, dy0));
          db = transB ? k.matmul(dy2, a2, { transA: true }) : k.matmul(a2, dy2, { transA: true });
        } else {
          const full = transB ? k.matmul(dy0, a, { transA: true, transB: transA }) : k.matmul(a, dy0, { transA: !transA });
          db = full.size === b.size ? reshaped(tape, full, b) : sumToShape(tape, tmp(full), b.shape);
        }
      }
      return [da, db];
    }),
  );
  return y;
}

/** `t` under `like`'s shape (the same handle when the shapes already agree). */
function reshaped(tape: Tape, t: DeviceTensor, like: DeviceTensor): DeviceTensor {
  if (t.shape.length === like.shape.length && t.shape.every((d, i) => d === like.shape[i])) return t;
  const r = tape.backend.kernels.reshape(t, like.shape);
  tape.backend.free(t);
  return r;
}

/**
 * Differentiable {@link Kernels.loraLinear}: `x·W0ᵀ + scale·(x·Aᵀ)·Bᵀ`.
 * With `h = x·Aᵀ`, `s = scale·dy` and `g = s·B`: `dx = dy·W0 + g·A`,
 * `dA = gᵀ·x`, `dB = sᵀ·h`, `dW0 = dyᵀ·x` (only for a trained base weight).
 * Scaling `dy` once, before both products, is the order PyTorch's autograd
 * takes through PEFT's `lora_B(lora_A(x)) * scaling`, and one kernel fewer.
 */
export function loraLinear(tape: Tape, x: DeviceTensor, w0: DeviceTensor, a: DeviceTensor, b: DeviceTensor, scale: number): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.loraLinear(x, w0, a, b, scale));
  tape.record([x, w0, a, b], [y], [x, w0, a, b], ([dy], [needX, needW0, needA, needB]) =>
    withScratch(tape, (tmp) => {
      const dy2 = tmp(asMatrix(k, dy!));
      const x2 = tmp(asMatrix(k, x));
      const scaled = needX || needA || needB ? tmp(k.scale(dy2, scale)) : undefined;
      const g = needX || needA ? tmp(k.matmul(scaled!, b)) : undefined;
      const dx = needX ? k.reshape(tmp(k.add(tmp(k.matmul(dy2, w0)), tmp(k.matmul(g!, a)))), x.shape) : undefined;
      const dA = needA ? k.matmul(g!, x2, { transA: true }) : undefined;
      const dB = needB ? k.matmul(scaled!, tmp(k.matmul(x2, a, { transB: true })), { transA: true }) : undefined;
      const dW0 = needW0 ? k.matmul(dy2, x2, { transA: true }) : undefined;
      return [dx, dW0, dA, dB];
    }),
  );
  return y;
}
