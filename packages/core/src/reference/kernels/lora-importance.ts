import type { DeviceTensor } from '../../backend/device-tensor.js';
import { loraImportanceGeometry } from '../../backend/geometry.js';
import type { LoraImportanceResult } from '../../backend/kernels.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/**
 * Reference {@link Kernels.loraImportance}. `W = B·A` is formed one row at a
 * time in float64 (sign(0) = 0), so memory stays O(r·in).
 */
export function loraImportance(store: HostStore, a: DeviceTensor, b: DeviceTensor, n: DeviceTensor): LoraImportanceResult {
  const { rank, inFeatures, outFeatures } = loraImportanceGeometry(a, b, n);
  const av = floats(store.tensor(a));
  const bv = floats(store.tensor(b));
  const nv = floats(store.tensor(n));
  // colSums[k, j] = Σ_i sign(W_ij) · B_ik; I(A_kj) = n_j · |colSums[k, j]|.
  const colSums = new Float64Array(rank * inFeatures);
  const scoreB = new Float64Array(outFeatures * rank);
  const signs = new Float64Array(inFeatures);
  for (let i = 0; i < outFeatures; i++) {
    for (let j = 0; j < inFeatures; j++) {
      let w = 0;
      for (let k = 0; k < rank; k++) w += bv[i * rank + k] * av[k * inFeatures + j];
      signs[j] = Math.sign(w);
    }
    for (let k = 0; k < rank; k++) {
      const bik = bv[i * rank + k];
      let s = 0;
      for (let j = 0; j < inFeatures; j++) {
        colSums[k * inFeatures + j] += signs[j] * bik;
        s += signs[j] * av[k * inFeatures + j] * nv[j];
      }
      scoreB[i * rank + k] = Math.abs(s);
    }
  }
  const scoreA = new Float64Array(rank * inFeatures);
  for (let k = 0; k < rank; k++) {
    for (let j = 0; j < inFeatures; j++) scoreA[k * inFeatures + j] = nv[j] * Math.abs(colSums[k * inFeatures + j]);
  }
  return { a: keepF32(store, a.shape, scoreA), b: keepF32(store, b.shape, scoreB) };
}
