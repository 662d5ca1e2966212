import type { DeviceTensor } from '../../backend/device-tensor.js';
import { bottomKGeometry } from '../../backend/geometry.js';
import { selectionKey } from '../../backend/selection-key.js';
import { Tensor } from '../../tensor/index.js';
import { floats, type HostStore } from '../host-store.js';

/**
 * The k-th smallest (1-based) of `keys` by radix select: four histogram
 * passes over 8-bit digits, most significant first, each counting only the
 * keys that share the digits fixed so far. O(n), no sort.
 */
function kthSmallestKey(keys: Uint32Array, k: number): number {
  let prefix = 0;
  let fixedBits = 0;
  let rank = k;
  const histogram = new Uint32Array(256);
  for (let shift = 24; shift >= 0; shift -= 8) {
    histogram.fill(0);
    for (const key of keys) {
      if ((key & fixedBits) >>> 0 === prefix) histogram[(key >>> shift) & 0xff]++;
    }
    let digit = 0;
    while (rank > histogram[digit]) rank -= histogram[digit++];
    prefix = (prefix | (digit << shift)) >>> 0;
    fixedBits = (fixedBits | (0xff << shift)) >>> 0;
  }
  return prefix;
}

/** Reference {@link Kernels.bottomKMask}: per group, everything below the k-th key, then ties by index. */
export function bottomKMask(store: HostStore, scores: DeviceTensor, k: number): DeviceTensor {
  const { groups, n } = bottomKGeometry(scores, k);
  const sv = floats(store.tensor(scores));
  const mask = new Uint8Array(groups * n);
  const keys = new Uint32Array(n);
  for (let g = 0; g < groups && k > 0; g++) {
    const o = g * n;
    for (let i = 0; i < n; i++) keys[i] = selectionKey(sv[o + i]);
    const threshold = kthSmallestKey(keys, k);
    let ties = k;
    for (let i = 0; i < n; i++) if (keys[i] < threshold) ties--;
    for (let i = 0; i < n; i++) {
      if (keys[i] < threshold) mask[o + i] = 1;
      else if (keys[i] === threshold && ties > 0) {
        mask[o + i] = 1;
        ties--;
      }
    }
  }
  return store.keep(new Tensor('u8', scores.shape, mask));
}
