// Pruning selection: radix select on the order-preserving u32 key of each
// score (NaN lowest, −0 = +0), four 8-bit histogram passes over the keys
// still in the running, O(n) per group.

const HISTOGRAM = memory.data(256 * 4, 16);

// @ts-ignore: decorator
@inline function selectionKey(v: f32): u32 {
  if (v != v) return 0;
  const bits = v == 0 ? 0 : reinterpret<u32>(v);
  return (bits & 0x80000000) != 0 ? ~bits : bits | 0x80000000;
}

/**
 * The digit of the histogram where the `rank`-th smallest (1-based) falls,
 * in the low byte, above it its rank among the keys with that digit.
 */
function pickDigit(rank: u32): u64 {
  let digit: u32 = 0;
  let left = rank;
  while (left > load<u32>(HISTOGRAM + (digit << 2))) {
    left -= load<u32>(HISTOGRAM + (digit << 2));
    digit++;
  }
  return (<u64>left << 8) | digit;
}

/** Moves the `count` keys at `from` whose byte at `shift` is `digit` to `to` (which may be `from`), in order; returns how many. */
function keep(from: usize, count: usize, to: usize, shift: u32, digit: u32): usize {
  let kept: usize = 0;
  for (let i: usize = 0; i < count; i++) {
    const key = load<u32>(from + (i << 2));
    store<u32>(to + (kept << 2), key);
    kept += <usize>(((key >> shift) & 0xff) == digit);
  }
  return kept;
}

/**
 * Marks the `k` lowest scores of each of `groups` rows of `n` with 1 in
 * `mask` (u8); `keys` is `2·n` u32 of scratch. Each pass histograms one
 * byte of the keys still in the running and keeps those with the chosen
 * byte, so after the first pass over all `n` the rest usually see few;
 * ties at the threshold go to the lowest indices.
 */
export function bottomKMask(scores: usize, groups: usize, n: usize, k: u32, mask: usize, keys: usize): void {
  memory.fill(mask, 0, groups * n);
  if (k == 0) return;
  const running = keys + (n << 2);
  for (let g: usize = 0; g < groups; g++) {
    const row = scores + ((g * n) << 2);
    const out = mask + g * n;
    memory.fill(HISTOGRAM, 0, 256 * 4);
    for (let i: usize = 0; i < n; i++) {
      const key = selectionKey(load<f32>(row + (i << 2)));
      store<u32>(keys + (i << 2), key);
      const h = HISTOGRAM + ((key >> 24) << 2);
      store<u32>(h, load<u32>(h) + 1);
    }
    let picked = pickDigit(k);
    let threshold = <u32>(picked & 0xff) << 24;
    let count = keep(keys, n, running, 24, <u32>(picked & 0xff));
    for (let shift: u32 = 16; ; shift -= 8) {
      memory.fill(HISTOGRAM, 0, 256 * 4);
      for (let i: usize = 0; i < count; i++) {
        const h = HISTOGRAM + (((load<u32>(running + (i << 2)) >> shift) & 0xff) << 2);
        store<u32>(h, load<u32>(h) + 1);
      }
      picked = pickDigit(<u32>(picked >> 8));
      threshold |= <u32>(picked & 0xff) << shift;
      if (shift == 0) break;
      count = keep(running, count, running, shift, <u32>(picked & 0xff));
    }
    // The keys equal to the threshold that are among the k lowest.
    let ties = <u32>(picked >> 8);
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
