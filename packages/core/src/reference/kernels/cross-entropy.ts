import type { DeviceTensor } from '../../backend/device-tensor.js';
import { crossEntropyBackwardGeometry, crossEntropyGeometry } from '../../backend/geometry.js';
import type { CrossEntropyResult } from '../../backend/kernels.js';
import { floats, ints, keepF32, type HostStore } from '../host-store.js';

/** The target id Hugging Face uses for positions without a loss. */
const IGNORE_INDEX = -100;

/** Reference {@link Kernels.crossEntropy}. */
export function crossEntropy(store: HostStore, logits: DeviceTensor, targets: DeviceTensor): CrossEntropyResult {
  const { rows, vocab, shape } = crossEntropyGeometry(logits, targets);
  const xv = floats(store.tensor(logits));
  const tv = ints(store.tensor(targets));
  const lse = new Float64Array(rows);
  let total = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    let max = -Infinity;
    for (let c = 0; c < vocab; c++) max = Math.max(max, xv[o + c]);
    let sum = 0;
    for (let c = 0; c < vocab; c++) sum += Math.exp(xv[o + c] - max);
    lse[r] = max + Math.log(sum);
    const t = tv[r];
    if (t === IGNORE_INDEX) continue;
    count++;
    total += t >= 0 && t < vocab ? lse[r] - xv[o + t] : NaN;
  }
  return { loss: keepF32(store, [], [count > 0 ? total / count : NaN]), lse: keepF32(store, shape, lse) };
}

/** Reference {@link Kernels.crossEntropyBackward}. */
export function crossEntropyBackward(store: HostStore, logits: DeviceTensor, targets: DeviceTensor, lse: DeviceTensor, scale: number): DeviceTensor {
  const { rows, vocab } = crossEntropyBackwardGeometry(logits, targets, lse, scale);
  const xv = floats(store.tensor(logits));
  const tv = ints(store.tensor(targets));
  const lv = floats(store.tensor(lse));
  let count = 0;
  for (let r = 0; r < rows; r++) if (tv[r] !== IGNORE_INDEX) count++;
  const out = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    const t = tv[r];
    if (t === IGNORE_INDEX) continue;
    const o = r * vocab;
    const valid = t >= 0 && t < vocab;
    for (let c = 0; c < vocab; c++) {
      out[o + c] = valid ? (scale * (Math.exp(xv[o + c] - lv[r]) - (c === t ? 1 : 0))) / count : NaN;
    }
  }
  return keepF32(store, logits.shape, out);
}
