import type { DeviceTensor } from '../../backend/device-tensor.js';
import { dropoutGeometry } from '../../backend/geometry.js';
import type { DropoutOptions } from '../../backend/kernels.js';
import { floats, keepF32, type HostStore } from '../host-store.js';
import { philoxUniform } from '../philox.js';

/** Reference {@link Kernels.dropout}. */
export function dropout(store: HostStore, x: DeviceTensor, options: DropoutOptions): DeviceTensor {
  const g = dropoutGeometry(x, options);
  const xv = floats(store.tensor(x));
  const out = new Float32Array(g.size);
  for (let i = 0; i < g.size; i++) out[i] = philoxUniform(g.seed, g.stream, g.offset + i) >= g.p ? xv[i] * g.scale : 0;
  return keepF32(store, g.shape, out);
}
