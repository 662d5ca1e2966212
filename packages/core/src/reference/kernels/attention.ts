import type { DeviceTensor } from '../../backend/device-tensor.js';
import { attentionGeometry, type AttentionGeometry } from '../../backend/geometry.js';
import type { AttentionOptions, AttentionResult } from '../../backend/kernels.js';
import { floats, keepF32, type HostStore } from '../host-store.js';

/** Element offset of query `i` of head `h` in batch `b`, in either layout. */
export function queryOffset(g: AttentionGeometry, b: number, h: number, i: number): number {
  return (g.layout === 'bhsd' ? (b * g.heads + h) * g.seqQ + i : (b * g.seqQ + i) * g.heads + h) * g.dim;
}

/** Element offset of key (or value) `j` of KV head `kh` in batch `b`, in either layout. */
export function keyOffset(g: AttentionGeometry, b: number, kh: number, j: number): number {
  return (g.layout === 'bhsd' ? (b * g.kvHeads + kh) * g.seqK + j : (b * g.seqK + j) * g.kvHeads + kh) * g.dim;
}

/**
 * The scaled scores of query `i` of head `h` against the keys it may see,
 * `[first, end)` (the causal edge and the sliding window), in float64, into
 * `scores[j]` (length ≥ `seqK`). Returns `[first, end]`.
 */
export function causalScores(g: AttentionGeometry, q: Float32Array, k: Float32Array, b: number, h: number, i: number, scores: Float64Array): [number, number] {
  const { group, seqQ, seqK, dim, scale } = g;
  const end = i + seqK - seqQ + 1;
  const first = Math.max(0, end - g.window);
  const qo = queryOffset(g, b, h, i);
  for (let j = first; j < end; j++) {
    const ko = keyOffset(g, b, Math.floor(h / group), j);
    let s = 0;
    for (let d = 0; d < dim; d++) s += q[qo + d] * k[ko + d];
    scores[j] = scale * s;
  }
  return [first, end];
}

/** Reference {@link Kernels.attention}: exact softmax over the visible keys of each query (causal, within the window). */
export function attention(store: HostStore, q: DeviceTensor, k: DeviceTensor, v: DeviceTensor, options: AttentionOptions = {}): AttentionResult {
  const g = attentionGeometry(q, k, v, options);
  const { batch, heads, group, seqQ, seqK, dim } = g;
  const qv = floats(store.tensor(q));
  const kv = floats(store.tensor(k));
  const vv = floats(store.tensor(v));
  const out = new Float64Array(batch * heads * seqQ * dim);
  const lse = new Float64Array(batch * heads * seqQ);
  const scores = new Float64Array(seqK);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seqQ; i++) {
        const [first, end] = causalScores(g, qv, kv, b, h, i, scores);
        let max = -Infinity;
        for (let j = first; j < end; j++) max = Math.max(max, scores[j]);
        let total = 0;
        for (let j = first; j < end; j++) total += Math.exp(scores[j] - max);
        const row = (b * heads + h) * seqQ + i;
        lse[row] = max + Math.log(total);
        const oo = queryOffset(g, b, h, i);
        for (let j = first; j < end; j++) {
          const p = Math.exp(scores[j] - lse[row]);
          const vo = keyOffset(g, b, Math.floor(h / group), j);
          for (let d = 0; d < dim; d++) out[oo + d] += p * vv[vo + d];
        }
      }
    }
  }
  return { out: keepF32(store, q.shape, out), lse: keepF32(store, [batch, heads, seqQ], lse) };
}
