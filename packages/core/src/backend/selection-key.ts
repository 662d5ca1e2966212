import type { Kernels } from './kernels.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The order-preserving u32 key of an f32 value used by pruning selection:
 * comparing keys as unsigned integers orders the values as
 * {@link Kernels.bottomKMask} requires. Every NaN maps to 0 (lowest), −0 and
 * +0 share a key, and otherwise negative values have their bits inverted and
 * non-negative ones their sign bit set. Radix/histogram selection works on
 * these keys, eight or sixteen bits at a time.
 */
export function selectionKey(value: number): number {
  if (Number.isNaN(value)) return 0;
  f32[0] = value === 0 ? 0 : value;
  const bits = u32[0];
  return (bits & 0x80000000 ? ~bits : bits | 0x80000000) >>> 0;
}
