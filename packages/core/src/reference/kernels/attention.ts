import type { DeviceTensor } from '../../backend/device-tensor.js';
import { attentionGeometry, type AttentionGeometry } from '../../backend/geometry.js';
import type { AttentionOptions, AttentionResult } from '../../backend/kernels.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/**
 * The scaled scores of query `i` of head `h` against the keys it may see,
 * in float64, into `scores` (length ≥ the number of visible keys). Returns
 * that number.
 */
export function causalScores(g: AttentionGeometry, q: Float32Array, k: Float32Array, b: number, h: number, i: number, scores: Float64Array): number {
  const { heads, kvHeads, group, seqQ, seqK, dim, scale } = g;
  const visible = i + seqK - seqQ + 1;
  const qo = ((b * heads + h) * seqQ + i) * dim;
  const ko = (b * kvHeads + Math.floor(h / group)) * seqK * dim;
  for (let j = 0; j < visible; j++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += q[qo + d] * k[ko + j * dim + d];
    scores[j] = scale * s;
  }
  return visible;
}

/** Reference {@link Kernels.attention}: exact softmax over the visible keys of each query. */
export function attention(store: HostStore, q: DeviceTensor, k: DeviceTensor, v: DeviceTensor, options: AttentionOptions = {}): AttentionResult {
  const g = attentionGeometry(q, k, v, options);
  const { batch, heads, kvHeads, group, seqQ, seqK, dim } = g;
  const qv = floats(store.tensor(q));
  const kv = floats(store.tensor(k));
  const vv = floats(store.tensor(v));
  const out = new Float64Array(batch * heads * seqQ * dim);
  const lse = new Float64Array(batch * heads * seqQ);
  const scores = new Float64Array(seqK);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const vo = (b * kvHeads + Math.floor(h / group)) * seqK * dim;
      for (let i = 0; i < seqQ; i++) {
        const visible = causalScores(g, qv, kv, b, h, i, scores);
        let max = -Infinity;
        for (let j = 0; j < visible; j++) max = Math.max(max, scores[j]);
        let total = 0;
        for (let j = 0; j < visible; j++) total += Math.exp(scores[j] - max);
        const row = (b * heads + h) * seqQ + i;
        lse[row] = max + Math.log(total);
        for (let j = 0; j < visible; j++) {
          const p = Math.exp(scores[j] - lse[row]);
          for (let d = 0; d < dim; d++) out[row * dim + d] += p * vv[vo + j * dim + d];
        }
      }
    }
  }
  return { out: keepF32(store, q.shape, out), lse: keepF32(store, q.shape.slice(0, 3), lse) };
}
