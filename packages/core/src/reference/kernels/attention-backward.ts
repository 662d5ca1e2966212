import type { DeviceTensor } from '../../backend/device-tensor.js';
import { attentionBackwardGeometry } from '../../backend/geometry.js';
import type { AttentionGrads, AttentionOptions } from '../../backend/kernels.js';
import { floats, keepF32, type HostStore } from '../host-store.js';
import { causalScores, keyOffset, queryOffset } from './attention.js';

/** Reference {@link Kernels.attentionBackward}: probabilities recomputed from `lse`, sums in float64. */
export function attentionBackward(
  store: HostStore,
  q: DeviceTensor,
  k: DeviceTensor,
  v: DeviceTensor,
  out: DeviceTensor,
  lse: DeviceTensor,
  dOut: DeviceTensor,
  options: AttentionOptions = {},
): AttentionGrads {
  const g = attentionBackwardGeometry(q, k, v, out, lse, dOut, options);
  const { batch, heads, group, seqQ, seqK, dim, scale } = g;
  const qv = floats(store.tensor(q));
  const kv = floats(store.tensor(k));
  const vv = floats(store.tensor(v));
  const ov = floats(store.tensor(out));
  const lv = floats(store.tensor(lse));
  const gv = floats(store.tensor(dOut));
  const dq = new Float64Array(qv.length);
  const dk = new Float64Array(kv.length);
  const dv = new Float64Array(vv.length);
  const scores = new Float64Array(seqK);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seqQ; i++) {
        const row = (b * heads + h) * seqQ + i;
        const ro = queryOffset(g, b, h, i);
        const [first, end] = causalScores(g, qv, kv, b, h, i, scores);
        let delta = 0;
        for (let d = 0; d < dim; d++) delta += gv[ro + d] * ov[ro + d];
        for (let j = first; j < end; j++) {
          const p = Math.exp(scores[j] - lv[row]);
          const jo = keyOffset(g, b, Math.floor(h / group), j);
          let dp = 0;
          for (let d = 0; d < dim; d++) {
            dv[jo + d] += p * gv[ro + d];
            dp += gv[ro + d] * vv[jo + d];
          }
          const ds = p * (dp - delta) * scale;
          for (let d = 0; d < dim; d++) {
            dq[ro + d] += ds * kv[jo + d];
            dk[jo + d] += ds * qv[ro + d];
          }
        }
      }
    }
  }
  return { dq: keepF32(store, q.shape, dq), dk: keepF32(store, k.shape, dk), dv: keepF32(store, v.shape, dv) };
}
