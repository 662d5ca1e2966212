import { elementwiseGeometry, type DeviceTensor, type GegluGrads } from '@lorafuse/core';
import type { KernelContext } from './context.js';
import { map } from './elementwise.js';

// GeGLU with GELU's tanh approximation, gelu(x) = x·σ(2u) with
// u = √(2/π)·x·(1 + 0.044715·x²): PyTorch's ½·x·(1 + tanh(u)) without its
// cancellation for negative x, through the overflow-free σ of SiLU. A NaN
// gate gives NaN whatever the compiler assumes about NaN.

/** 2u of `x`, and u'(x) = √(2/π)·(1 + 3·0.044715·x²). */
const GELU = /* wgsl */ `
fn twoU(x: T) -> T { return 1.5957691216057308 * x * (1.0 + 0.044715 * x * x); }
fn du(x: T) -> T { return 0.7978845608028654 * (1.0 + 0.134145 * x * x); }
`;

/** {@link Kernels.geglu}. */
export function geglu(ctx: KernelContext, gate: DeviceTensor, up: DeviceTensor): DeviceTensor {
  const g = elementwiseGeometry('geglu', gate, up);
  return map(ctx, 'let x = x0[i]; y0[i] = select(x * sigmoid(twoU(x)) * x1[i], x, nanAt(x));', [gate, up], g.shape, g.size, {
    vector: true,
    prelude: GELU,
  })[0];
}

/** {@link Kernels.gegluBackward}: `gelu'(x) = s + 2x·s·(1 − s)·u'(x)` with `s = σ(2u)`. */
export function gegluBackward(ctx: KernelContext, gate: DeviceTensor, up: DeviceTensor, dy: DeviceTensor): GegluGrads {
  const g = elementwiseGeometry('gegluBackward', gate, up, dy);
  const body = `let x = x0[i]; let z = twoU(x); let s = sigmoid(z);
  y0[i] = select(x2[i] * x1[i] * (s + 2.0 * x * s * sigmoidComplement(z) * du(x)), x, nanAt(x));
  y1[i] = select(x2[i] * x * s, x, nanAt(x));`;
  const [dGate, dUp] = map(ctx, body, [gate, up, dy], g.shape, g.size, { outputs: 2, vector: true, prelude: GELU });
  return { dGate, dUp };
}
