import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import { Tensor } from '../tensor/index.js';
import { prunedCount } from './count.js';
import type { SelectionGroup } from './types.js';

/** The mask one group selection produced for one tensor: u8, as many elements as the tensor, 1 = pruned. */
export interface MemberMask {
  readonly member: number;
  readonly mask: DeviceTensor;
  /** Entries marked in `mask`. */
  readonly pruned: number;
}

/**
 * Selects the lowest-scoring share `ratio` of every group of `group` with
 * the backend's O(n) {@link Kernels.bottomKMask}. A group inside one tensor
 * is a reshape of its scores; a group spanning several tensors (`global`)
 * is gathered through the host, because the kernel contract has no
 * concatenation: the selection itself still runs on the backend.
 */
export async function selectGroup(backend: Backend, group: SelectionGroup, scores: readonly DeviceTensor[], ratio: number): Promise<MemberMask[]> {
  const { kernels } = backend;
  const k = prunedCount(ratio, group.groupSize);
  if (group.members.length === 1) {
    const [member] = group.members;
    const size = scores[member].size;
    const view = kernels.reshape(scores[member], [size / group.groupSize, group.groupSize]);
    try {
      return [{ member, mask: kernels.bottomKMask(view, k), pruned: (k * size) / group.groupSize }];
    } finally {
      backend.free(view);
    }
  }
  const parts = await Promise.all(group.members.map(async (m) => (await backend.read(scores[m])).data as Float32Array));
  const total = parts.reduce((sum, p) => sum + p.length, 0);
  const joined = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.length;
  }
  const uploaded = backend.upload(new Tensor('f32', [total / group.groupSize, group.groupSize], joined));
  let mask: Uint8Array;
  try {
    const selected = kernels.bottomKMask(uploaded, k);
    try {
      mask = (await backend.read(selected)).data as Uint8Array;
    } finally {
      backend.free(selected);
    }
  } finally {
    backend.free(uploaded);
  }
  let offset = 0;
  return group.members.map((member) => {
    const { shape, size } = scores[member];
    const part = mask.slice(offset, offset + size);
    offset += size;
    let pruned = 0;
    for (const bit of part) pruned += bit;
    return { member, mask: backend.upload(new Tensor('u8', shape, part)), pruned };
  });
}
