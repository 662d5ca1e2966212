import type { DeviceTensor } from '../../backend/device-tensor.js';
import { normalGeometry, randomGeometry } from '../../backend/geometry.js';
import type { NormalOptions, RandomOptions } from '../../backend/kernels.js';
import type { Shape } from '../../tensor/index.js';
import { keepF32, type HostStore } from '../host-store.js';
import { philoxNormal, philoxUniform } from '../philox.js';

/** Reference {@link Kernels.randomUniform}. */
export function randomUniform(store: HostStore, shape: Shape, options: RandomOptions): DeviceTensor {
  const g = randomGeometry(shape, options);
  const out = new Float32Array(g.size);
  for (let i = 0; i < g.size; i++) out[i] = philoxUniform(g.seed, g.stream, g.offset + i);
  return keepF32(store, g.shape, out);
}

/** Reference {@link Kernels.randomNormal}. */
export function randomNormal(store: HostStore, shape: Shape, options: NormalOptions): DeviceTensor {
  const g = normalGeometry(shape, options);
  const out = new Float32Array(g.size);
  for (let i = 0; i < g.size; i++) out[i] = g.mean + g.std * philoxNormal(g.seed, g.stream, g.offset + i);
  return keepF32(store, g.shape, out);
}
