import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Tape } from '../autograd/tape.js';
import { sumToShape, withScratch } from './scratch.js';

/** Differentiable {@link Kernels.add}; `b` may be a suffix of `a`'s shape (a bias), its gradient sums over the rest. */
export function add(tape: Tape, a: DeviceTensor, b: DeviceTensor): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.add(a, b));
  tape.record([a, b], [y], [], ([dy], [needA, needB]) => [
    needA ? dy : undefined,
    needB ? (needA || b.shape.length !== a.shape.length ? sumToShape(tape, dy!, b.shape) : dy) : undefined,
  ]);
  return y;
}

/** Differentiable {@link Kernels.mul}, with the broadcasting of {@link add}. */
export function mul(tape: Tape, a: DeviceTensor, b: DeviceTensor): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.mul(a, b));
  tape.record([a, b], [y], [a, b], ([dy], [needA, needB]) =>
    withScratch(tape, (tmp) => [needA ? k.mul(dy!, b) : undefined, needB ? sumToShape(tape, tmp(k.mul(dy!, a)), b.shape) : undefined]),
  );
  return y;
}

/** Differentiable {@link Kernels.scale}. */
export function scale(tape: Tape, x: DeviceTensor, factor: number): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.scale(x, factor));
  tape.record([x], [y], [], ([dy]) => [k.scale(dy!, factor)]);
  return y;
}

/** Differentiable {@link Kernels.silu}. */
export function silu(tape: Tape, x: DeviceTensor): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.silu(x));
  tape.record([x], [y], [x], ([dy]) => [k.siluBackward(x, dy!)]);
  return y;
}

/** Differentiable {@link Kernels.swiglu}: `silu(gate) ⊙ up`. */
export function swiglu(tape: Tape, gate: DeviceTensor, up: DeviceTensor): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.swiglu(gate, up));
  tape.record([gate, up], [y], [gate, up], ([dy], needs) => keepNeeded(tape, k.swigluBackward(gate, up, dy!), ['dGate', 'dUp'], needs));
  return y;
}

/** Differentiable {@link Kernels.geglu}: `gelu(gate) ⊙ up` with GELU's tanh approximation. */
export function geglu(tape: Tape, gate: DeviceTensor, up: DeviceTensor): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.geglu(gate, up));
  tape.record([gate, up], [y], [gate, up], ([dy], needs) => keepNeeded(tape, k.gegluBackward(gate, up, dy!), ['dGate', 'dUp'], needs));
  return y;
}

/**
 * Differentiable {@link Kernels.softcap}, `cap · tanh(x / cap)`. The
 * gradient reads the output, not `x`: the output is usually kept anyway
 * (the logits a loss reads), so `x` can be freed at once.
 */
export function softcap(tape: Tape, x: DeviceTensor, cap: number): DeviceTensor {
  const k = tape.backend.kernels;
  const y = tape.own(k.softcap(x, cap));
  tape.record([x], [y], [y], ([dy]) => [k.softcapBackward(y, dy!, cap)]);
  return y;
}

/** The named outputs of a backward kernel that are needed; the others are freed at once. */
export function keepNeeded<T extends object>(tape: Tape, grads: T, names: readonly (keyof T)[], needs: readonly boolean[]): (DeviceTensor | undefined)[] {
  return names.map((name, i) => {
    const g = grads[name] as DeviceTensor;
    if (needs[i]) return g;
    tape.backend.free(g);
    return undefined;
  });
}
