import type { Backend } from '../../backend/backend.js';
import type { AttentionLayout, AttentionOptions } from '../../backend/kernels.js';
import type { Tensor } from '../../tensor/index.js';
import type { ConformanceCase } from '../case.js';
import { kernelCase, rejectionCase } from '../case.js';
import type { InputRandom } from '../input-random.js';
import { normalF32 } from './host.js';

interface AttentionShape {
  readonly batch: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly seqQ: number;
  readonly seqK: number;
  readonly dim: number;
}

function qkv(rng: InputRandom, s: AttentionShape, std: number, layout: AttentionLayout = 'bhsd'): Tensor[] {
  const shape = (heads: number, seq: number) => (layout === 'bhsd' ? [s.batch, heads, seq, s.dim] : [s.batch, seq, heads, s.dim]);
  return [normalF32(rng, shape(s.heads, s.seqQ), std), normalF32(rng, shape(s.kvHeads, s.seqK), std), normalF32(rng, shape(s.kvHeads, s.seqK))];
}

/** The reference forward's `out` and `lse`, so that the backward is checked on its own. */
async function forwardOf(reference: Backend, inputs: readonly Tensor[], options: AttentionOptions): Promise<Tensor[]> {
  const [q, k, v] = inputs.map((t) => reference.upload(t));
  const { out, lse } = reference.kernels.attention(q, k, v, options);
  try {
    return [await reference.read(out), await reference.read(lse)];
  } finally {
    for (const t of [q, k, v, out, lse]) reference.free(t);
  }
}

function cases(name: string, s: AttentionShape, options: AttentionOptions = {}, std = 1): ConformanceCase[] {
  return [
    kernelCase({ kernel: 'attention', name, inputs: (rng) => qkv(rng, s, std, options.layout), call: (k, [q, key, v]) => k.attention(q, key, v, options) }),
    kernelCase({
      kernel: 'attentionBackward',
      name,
      inputs: async (rng, reference) => {
        const inputs = qkv(rng, s, std, options.layout);
        const [out, lse] = await forwardOf(reference, inputs, options);
        return [...inputs, out, lse, normalF32(rng, out.shape)];
      },
      call: (k, [q, key, v, out, lse, dOut]) => k.attentionBackward(q, key, v, out, lse, dOut, options),
    }),
  ];
}

/** Cases of causal attention, forward and backward, with and without a sliding window. */
export function attentionCases(): ConformanceCase[] {
  return [
    // H = 4, KV = 2: query head 1 reads KV head 0 (h % KV would read 1).
    ...cases('GQA B2 H4 KV2 S7 D8', { batch: 2, heads: 4, kvHeads: 2, seqQ: 7, seqK: 7, dim: 8 }),
    ...cases('GQA H6 KV2 S9 D4', { batch: 1, heads: 6, kvHeads: 2, seqQ: 9, seqK: 9, dim: 4 }),
    ...cases('MHA B1 H3 KV3 S5 D16', { batch: 1, heads: 3, kvHeads: 3, seqQ: 5, seqK: 5, dim: 16 }),
    ...cases('MQA H4 KV1 S6 D8', { batch: 1, heads: 4, kvHeads: 1, seqQ: 6, seqK: 6, dim: 8 }),
    ...cases('fewer queries than keys Sq3 Sk9', { batch: 1, heads: 2, kvHeads: 1, seqQ: 3, seqK: 9, dim: 8 }),
    ...cases('one position, D = 1', { batch: 1, heads: 1, kvHeads: 1, seqQ: 1, seqK: 1, dim: 1 }),
    ...cases('explicit scale 0.3, wide scores', { batch: 1, heads: 2, kvHeads: 2, seqQ: 11, seqK: 11, dim: 8 }, { scale: 0.3 }, 4),
    ...cases('empty batch', { batch: 0, heads: 2, kvHeads: 1, seqQ: 4, seqK: 4, dim: 8 }),
    ...cases('B1 H8 KV2 S64 D32', { batch: 1, heads: 8, kvHeads: 2, seqQ: 64, seqK: 64, dim: 32 }),
    // Sequence-first operands, as a Linear layer's output reshapes: [B, S, H, D].
    ...cases('bshd GQA B2 H4 KV2 S7 D8', { batch: 2, heads: 4, kvHeads: 2, seqQ: 7, seqK: 7, dim: 8 }, { layout: 'bshd' }),
    ...cases('bshd fewer queries than keys Sq3 Sk9, D = 6', { batch: 2, heads: 2, kvHeads: 1, seqQ: 3, seqK: 9, dim: 6 }, { layout: 'bshd' }),
    ...cases('bshd B1 H8 KV2 S64 D32', { batch: 1, heads: 8, kvHeads: 2, seqQ: 64, seqK: 64, dim: 32 }, { layout: 'bshd' }),
    // Sliding windows: shorter than the sequence (the first keys fall out), one key, longer than the sequence.
    ...cases('window 3, GQA B2 H4 KV2 S9 D8', { batch: 2, heads: 4, kvHeads: 2, seqQ: 9, seqK: 9, dim: 8 }, { window: 3 }),
    ...cases('window 1: each query sees itself', { batch: 1, heads: 2, kvHeads: 1, seqQ: 6, seqK: 6, dim: 4 }, { window: 1 }),
    ...cases('window 100 > S: the causal mask alone', { batch: 1, heads: 2, kvHeads: 2, seqQ: 7, seqK: 7, dim: 8 }, { window: 100 }),
    ...cases('window 4, fewer queries than keys Sq3 Sk11', { batch: 1, heads: 2, kvHeads: 1, seqQ: 3, seqK: 11, dim: 8 }, { window: 4 }),
    ...cases('window 5, one query (decoding) Sq1 Sk20, H6 KV2', { batch: 2, heads: 6, kvHeads: 2, seqQ: 1, seqK: 20, dim: 8 }, { window: 5 }),
    ...cases('window 6, explicit scale 0.3, wide scores', { batch: 1, heads: 2, kvHeads: 2, seqQ: 13, seqK: 13, dim: 8 }, { window: 6, scale: 0.3 }, 4),
    ...cases('bshd window 5 GQA B2 H4 KV2 S13 D6', { batch: 2, heads: 4, kvHeads: 2, seqQ: 13, seqK: 13, dim: 6 }, { layout: 'bshd', window: 5 }),
    ...cases('bshd window 7, Sq5 Sk12', { batch: 1, heads: 4, kvHeads: 2, seqQ: 5, seqK: 12, dim: 8 }, { layout: 'bshd', window: 7 }),
    ...cases('bshd window 16 B1 H8 KV2 S64 D32', { batch: 1, heads: 8, kvHeads: 2, seqQ: 64, seqK: 64, dim: 32 }, { layout: 'bshd', window: 16 }),
    rejectionCase({
      kernel: 'attention',
      name: 'a window of 0',
      code: 'INVALID_OPTION',
      inputs: (rng) => qkv(rng, { batch: 1, heads: 2, kvHeads: 2, seqQ: 2, seqK: 2, dim: 4 }, 1),
      call: (k, [q, key, v]) => k.attention(q, key, v, { window: 0 }),
    }),
    rejectionCase({
      kernel: 'attentionBackward',
      name: 'a fractional window',
      code: 'INVALID_OPTION',
      inputs: (rng) => {
        const [q, key, v] = qkv(rng, { batch: 1, heads: 2, kvHeads: 2, seqQ: 2, seqK: 2, dim: 4 }, 1);
        return [q, key, v, q, normalF32(rng, [1, 2, 2]), q];
      },
      call: (k, [q, key, v, out, lse, dOut]) => k.attentionBackward(q, key, v, out, lse, dOut, { window: 1.5 }),
    }),
    rejectionCase({
      kernel: 'attention',
      name: 'query heads not a multiple of KV heads',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => qkv(rng, { batch: 1, heads: 3, kvHeads: 2, seqQ: 2, seqK: 2, dim: 4 }, 1),
      call: (k, [q, key, v]) => k.attention(q, key, v),
    }),
    rejectionCase({
      kernel: 'attention',
      name: 'unknown layout',
      code: 'INVALID_OPTION',
      inputs: (rng) => qkv(rng, { batch: 1, heads: 2, kvHeads: 2, seqQ: 2, seqK: 2, dim: 4 }, 1),
      call: (k, [q, key, v]) => k.attention(q, key, v, { layout: 'sbhd' as AttentionLayout }),
    }),
    rejectionCase({
      kernel: 'attention',
      name: 'bshd: query heads not a multiple of KV heads',
      code: 'SHAPE_MISMATCH',
      // [1, 3, 2, 4] read as bshd has 2 query heads over 3 KV heads.
      inputs: (rng) => qkv(rng, { batch: 1, heads: 2, kvHeads: 3, seqQ: 3, seqK: 3, dim: 4 }, 1, 'bshd'),
      call: (k, [q, key, v]) => k.attention(q, key, v, { layout: 'bshd' }),
    }),
    rejectionCase({
      kernel: 'attention',
      name: 'more queries than keys',
      code: 'SHAPE_MISMATCH',
      inputs: (rng) => qkv(rng, { batch: 1, heads: 2, kvHeads: 2, seqQ: 5, seqK: 4, dim: 4 }, 1),
      call: (k, [q, key, v]) => k.attention(q, key, v),
    }),
  ];
}
