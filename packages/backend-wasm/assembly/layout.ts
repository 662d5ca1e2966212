// Permute: walks the result in order with an odometer over its dimensions,
// a contiguous run at a time when the result's last dimension is also the
// source's (the attention layouts move rows of the head dimension).

/**
 * Copies elements `[start, end)` of the result (multiples of the run) of a
 * permutation of `src` to `dst`; elements are `elementBytes` (1, 2 or 4)
 * wide. `meta` holds `rank` u32 result dimensions, then `rank` u32 input
 * strides (in elements); `index` is `rank` u32 of scratch for this call
 * alone, so that calls over other ranges may run at the same time.
 */
export function permute(src: usize, dst: usize, elementBytes: usize, rank: usize, meta: usize, index: usize, start: usize, end: usize): void {
  if (end <= start) return;
  if (rank == 0) {
    memory.copy(dst, src, elementBytes);
    return;
  }
  const shape = meta;
  const strides = meta + (rank << 2);
  const last = rank - 1;
  // A result row whose elements are adjacent in the source moves as one block.
  const run: usize = load<u32>(strides + (last << 2)) == 1 ? load<u32>(shape + (last << 2)) : 1;
  const runBytes = run * elementBytes;
  // The odometer at `start`, and where that element lies in the source.
  let from: usize = 0;
  let rest = start;
  for (let d = <i32>last; d >= 0; d--) {
    const dimSize = <usize>load<u32>(shape + (<usize>d << 2));
    const i = rest % dimSize;
    rest /= dimSize;
    store<u32>(index + (<usize>d << 2), <u32>i);
    from += i * <usize>load<u32>(strides + (<usize>d << 2));
  }
  // Runs advance the odometer from the last dimension they do not cover.
  const top = <i32>(run > 1 ? last - 1 : last);
  for (let i = start; i < end; i += run) {
    if (run > 1) memory.copy(dst + i * elementBytes, src + from * elementBytes, runBytes);
    else if (elementBytes == 4) store<u32>(dst + (i << 2), load<u32>(src + (from << 2)));
    else if (elementBytes == 2) store<u16>(dst + (i << 1), load<u16>(src + (from << 1)));
    else store<u8>(dst + i, load<u8>(src + from));
    for (let d = top; d >= 0; d--) {
      const ip = index + (<usize>d << 2);
      const dimSize = load<u32>(shape + (<usize>d << 2));
      const stride = <usize>load<u32>(strides + (<usize>d << 2));
      store<u32>(ip, load<u32>(ip) + 1);
      from += stride;
      if (load<u32>(ip) < dimSize) break;
      from -= stride * <usize>dimSize;
      store<u32>(ip, 0);
    }
  }
}
