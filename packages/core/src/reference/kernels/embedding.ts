import type { DeviceTensor } from '../../backend/device-tensor.js';
import { embeddingBackwardGeometry, embeddingGeometry } from '../../backend/geometry.js';
import { floats, ints, keepF32, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.embedding}. */
export function embedding(store: HostStore, ids: DeviceTensor, table: DeviceTensor): DeviceTensor {
  const { count, vocab, dim, shape } = embeddingGeometry(ids, table);
  const iv = ints(store.tensor(ids));
  const tv = floats(store.tensor(table));
  const out = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) {
    const id = iv[r];
    const row = out.subarray(r * dim, (r + 1) * dim);
    if (id >= 0 && id < vocab) row.set(tv.subarray(id * dim, (id + 1) * dim));
    else row.fill(NaN);
  }
  return keepF32(store, shape, out);
}

/** Reference {@link Kernels.embeddingBackward}: scatter-add in float64. */
export function embeddingBackward(store: HostStore, ids: DeviceTensor, dy: DeviceTensor, vocabSize: number): DeviceTensor {
  const { count, vocab, dim, shape } = embeddingBackwardGeometry(ids, dy, vocabSize);
  const iv = ints(store.tensor(ids));
  const gv = floats(store.tensor(dy));
  const out = new Float64Array(vocab * dim);
  for (let r = 0; r < count; r++) {
    const id = iv[r];
    if (id < 0 || id >= vocab) continue;
    for (let d = 0; d < dim; d++) out[id * dim + d] += gv[r * dim + d];
  }
  return keepF32(store, shape, out);
}
