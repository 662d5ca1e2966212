import type { DeviceTensor } from '../../backend/device-tensor.js';
import { elementwiseGeometry } from '../../backend/geometry.js';
import type { SwigluGrads } from '../../backend/kernels.js';
import { floats, keepF32, type HostStore } from '../host-store.js';
import { sigmoid } from './silu.js';

/** Reference {@link Kernels.swiglu}. */
export function swiglu(store: HostStore, gate: DeviceTensor, up: DeviceTensor): DeviceTensor {
  const { size, shape } = elementwiseGeometry('swiglu', gate, up);
  const gv = floats(store.tensor(gate));
  const uv = floats(store.tensor(up));
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = gv[i] * sigmoid(gv[i]) * uv[i];
  return keepF32(store, shape, out);
}

/** Reference {@link Kernels.swigluBackward}. */
export function swigluBackward(store: HostStore, gate: DeviceTensor, up: DeviceTensor, dy: DeviceTensor): SwigluGrads {
  const { size, shape } = elementwiseGeometry('swigluBackward', gate, up, dy);
  const gv = floats(store.tensor(gate));
  const uv = floats(store.tensor(up));
  const dv = floats(store.tensor(dy));
  const dGate = new Float32Array(size);
  const dUp = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const g = gv[i];
    const s = sigmoid(g);
    dGate[i] = dv[i] * uv[i] * s * (1 + g * (1 - s));
    dUp[i] = dv[i] * g * s;
  }
  return { dGate: keepF32(store, shape, dGate), dUp: keepF32(store, shape, dUp) };
}
