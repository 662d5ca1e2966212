// Pruning selection: radix select on the order-preserving u32 key of each
// score (NaN lowest, −0 = +0), four 8-bit histogram passes, O(n) per group.

const HISTOGRAM = memory.data(256 * 4, 16);

// @ts-ignore: decorator
@inline function selectionKey(v: f32): u32 {
  if (v != v) return 0;
  const bits = v == 0 ? 0 : reinterpret<u32>(v);
  return (bits & 0x80000000) != 0 ? ~bits : bits | 0x80000000;
}

/** The k-th smallest (1-based) of `n` keys. */
function kthSmallestKey(keys: usize, n: usize, k: u32): u32 {
  let prefix: u32 = 0;
  let fixedBits: u32 = 0;
  let rank = k;
  for (let shift: i32 = 24; shift >= 0; shift -= 8) {
    memory.fill(HISTOGRAM, 0, 256 * 4);
    for (let i: usize = 0; i < n; i++) {
      const key = load<u32>(keys + (i << 2));
      if ((key & fixedBits) == prefix) {
        const h = HISTOGRAM + (((key >> shift) & 0xff) << 2);
        store<u32>(h, load<u32>(h) + 1);
      }
    }
    let digit: u32 = 0;
    while (rank > load<u32>(HISTOGRAM + (digit << 2))) {
      rank -= load<u32>(HISTOGRAM + (digit << 2));
      digit++;
    }
    prefix |= digit << shift;
    fixedBits |= <u32>0xff << shift;
  }
  return prefix;
}

/** Marks the `k` lowest scores of each of `groups` rows of `n` with 1 in `mask` (u8); `keys` is `n` u32 of scratch. */
export function bottomKMask(scores: usize, groups: usize, n: usize, k: u32, mask: usize, keys: usize): void {
  memory.fill(mask, 0, groups * n);
  if (k == 0) return;
  for (let g: usize = 0; g < groups; g++) {
    const row = scores + ((g * n) << 2);
    const out = mask + g * n;
    for (let i: usize = 0; i < n; i++) store<u32>(keys + (i << 2), selectionKey(load<f32>(row + (i << 2))));
    const threshold = kthSmallestKey(keys, n, k);
    let ties = k;
    for (let i: usize = 0; i < n; i++) if (load<u32>(keys + (i << 2)) < threshold) ties--;
    for (let i: usize = 0; i < n; i++) {
      const key = load<u32>(keys + (i << 2));
      if (key < threshold) store<u8>(out + i, 1);
      else if (key == threshold && ties > 0) {
        store<u8>(out + i, 1);
        ties--;
      }
    }
  }
}
