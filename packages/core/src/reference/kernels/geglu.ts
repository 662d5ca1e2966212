import type { DeviceTensor } from '../../backend/device-tensor.js';
import { elementwiseGeometry } from '../../backend/geometry.js';
import type { GegluGrads } from '../../backend/kernels.js';
import { floats, keepF32, type HostStore } from '../host-store.js';
import { sigmoid } from './silu.js';

/** √(2/π), the slope of GELU's tanh argument. */
const GELU_SLOPE = Math.sqrt(2 / Math.PI);
/** The cubic coefficient of GELU's tanh argument. */
const GELU_CUBIC = 0.044715;

/**
 * GELU's tanh approximation and its derivative in float64, as
 * `x·σ(2u)` (equal to `½·x·(1 + tanh(u))`, without its cancellation for
 * negative `x`): returns `[gelu(x), gelu'(x)]`.
 */
export function geluTanh(x: number): [number, number] {
  const s = sigmoid(2 * GELU_SLOPE * (x + GELU_CUBIC * x * x * x));
  const du = GELU_SLOPE * (1 + 3 * GELU_CUBIC * x * x);
  return [x * s, s + 2 * x * s * (1 - s) * du];
}

/** Reference {@link Kernels.geglu}. */
export function geglu(store: HostStore, gate: DeviceTensor, up: DeviceTensor): DeviceTensor {
  const { size, shape } = elementwiseGeometry('geglu', gate, up);
  const gv = floats(store.tensor(gate));
  const uv = floats(store.tensor(up));
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = geluTanh(gv[i])[0] * uv[i];
  return keepF32(store, shape, out);
}

/** Reference {@link Kernels.gegluBackward}. */
export function gegluBackward(store: HostStore, gate: DeviceTensor, up: DeviceTensor, dy: DeviceTensor): GegluGrads {
  const { size, shape } = elementwiseGeometry('gegluBackward', gate, up, dy);
  const gv = floats(store.tensor(gate));
  const uv = floats(store.tensor(up));
  const dv = floats(store.tensor(dy));
  const dGate = new Float64Array(size);
  const dUp = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const [y, dydx] = geluTanh(gv[i]);
    dGate[i] = dv[i] * uv[i] * dydx;
    dUp[i] = dv[i] * y;
  }
  return { dGate: keepF32(store, shape, dGate), dUp: keepF32(store, shape, dUp) };
}
