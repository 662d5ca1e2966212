import type { DeviceTensor } from './device-tensor.js';
import { attentionBackwardGeometry, attentionGeometry } from './geometry.js';
import type { AttentionGrads, AttentionResult, Kernels } from './kernels.js';

/** Swaps the sequence and head axes, `[B, S, H, D]` ⇄ `[B, H, S, D]`. */
const SWAP_MIDDLE = [0, 2, 1, 3] as const;

/** The kernels and the `free` of a backend: what {@link headsFirstAttention} needs around a heads-first kernel. */
export interface AttentionLayoutHost {
  readonly kernels: Pick<Kernels, 'permute'>;
  free(tensor: DeviceTensor): void;
}

/**
 * {@link Kernels.attention} for a backend whose kernel only reads the
 * heads-first layout: `'bshd'` operands are permuted to `'bhsd'` around
 * `attention` and the output back. Checks the arguments first.
 */
export function headsFirstAttention(host: AttentionLayoutHost, attention: Kernels['attention'], ...args: Parameters<Kernels['attention']>): AttentionResult {
  const [q, k, v, options = {}] = args;
  if (attentionGeometry(q, k, v, options).layout === 'bhsd') return attention(q, k, v, options);
  const swapped = [q, k, v].map((t) => host.kernels.permute(t, SWAP_MIDDLE));
  try {
    const { out, lse } = attention(swapped[0], swapped[1], swapped[2], { ...options, layout: 'bhsd' });
    const result = { out: host.kernels.permute(out, SWAP_MIDDLE), lse };
    host.free(out);
    return result;
  } finally {
    for (const t of swapped) host.free(t);
  }
}

/** {@link Kernels.attentionBackward} the same way as {@link headsFirstAttention}. */
export function headsFirstAttentionBackward(
  host: AttentionLayoutHost,
  backward: Kernels['attentionBackward'],
  ...args: Parameters<Kernels['attentionBackward']>
): AttentionGrads {
  const [q, k, v, out, lse, dOut, options = {}] = args;
  if (attentionBackwardGeometry(q, k, v, out, lse, dOut, options).layout === 'bhsd') return backward(q, k, v, out, lse, dOut, options);
  const [sq, sk, sv, so, sd] = [q, k, v, out, dOut].map((t) => host.kernels.permute(t, SWAP_MIDDLE));
  try {
    const grads = backward(sq, sk, sv, so, lse, sd, { ...options, layout: 'bhsd' });
    const result = {
      dq: host.kernels.permute(grads.dq, SWAP_MIDDLE),
      dk: host.kernels.permute(grads.dk, SWAP_MIDDLE),
      dv: host.kernels.permute(grads.dv, SWAP_MIDDLE),
    };
    for (const t of [grads.dq, grads.dk, grads.dv]) host.free(t);
    return result;
  } finally {
    for (const t of [sq, sk, sv, so, sd]) host.free(t);
  }
}
