import type { DeviceTensor } from '../../backend/device-tensor.js';
import { ropeGeometry } from '../../backend/geometry.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/**
 * Applies `y = x ⊙ cos + R(x) ⊙ sin` (forward, `R = rotate_half`) or
 * `dx = dy ⊙ cos + Rᵀ(dy ⊙ sin)` (backward) to every head vector.
 */
function rotate(store: HostStore, kernel: 'rope' | 'ropeBackward', x: DeviceTensor, cos: DeviceTensor, sin: DeviceTensor): DeviceTensor {
  const { batch, heads, seq, dim, tablesPerBatch } = ropeGeometry(kernel, x, cos, sin);
  const xv = floats(store.tensor(x));
  const cv = floats(store.tensor(cos));
  const sv = floats(store.tensor(sin));
  const half = dim / 2;
  const out = new Float32Array(xv.length);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let s = 0; s < seq; s++) {
        const o = ((b * heads + h) * seq + s) * dim;
        const t = ((tablesPerBatch ? b * seq : 0) + s) * dim;
        for (let d = 0; d < half; d++) {
          const x1 = xv[o + d];
          const x2 = xv[o + d + half];
          if (kernel === 'rope') {
            out[o + d] = x1 * cv[t + d] - x2 * sv[t + d];
            out[o + d + half] = x2 * cv[t + d + half] + x1 * sv[t + d + half];
          } else {
            out[o + d] = x1 * cv[t + d] + x2 * sv[t + d + half];
            out[o + d + half] = x2 * cv[t + d + half] - x1 * sv[t + d];
          }
        }
      }
    }
  }
  return keepF32(store, x.shape, out);
}

/** Reference {@link Kernels.rope}. */
export function rope(store: HostStore, x: DeviceTensor, cos: DeviceTensor, sin: DeviceTensor): DeviceTensor {
  return rotate(store, 'rope', x, cos, sin);
}

/** Reference {@link Kernels.ropeBackward}. */
export function ropeBackward(store: HostStore, dy: DeviceTensor, cos: DeviceTensor, sin: DeviceTensor): DeviceTensor {
  return rotate(store, 'ropeBackward', dy, cos, sin);
}
