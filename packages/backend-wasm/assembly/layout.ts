// Permute: walks the result in order with an odometer over its dimensions.

/**
 * Copies `size` elements of `elementBytes` (1, 2 or 4) from `src` to `dst`
 * in the order of a permutation: `meta` holds `rank` i32 result dimensions,
 * then `rank` i32 input strides (in elements), then `rank` i32 of scratch.
 */
export function permute(src: usize, dst: usize, elementBytes: usize, size: usize, rank: usize, meta: usize): void {
  const shape = meta;
  const strides = meta + (rank << 2);
  const index = strides + (rank << 2);
  memory.fill(index, 0, rank << 2);
  let from: usize = 0;
  for (let i: usize = 0; i < size; i++) {
    if (elementBytes == 4) store<u32>(dst + (i << 2), load<u32>(src + (from << 2)));
    else if (elementBytes == 2) store<u16>(dst + (i << 1), load<u16>(src + (from << 1)));
    else store<u8>(dst + i, load<u8>(src + from));
    for (let d = <i32>rank - 1; d >= 0; d--) {
      const ip = index + (<usize>d << 2);
      const dimSize = load<u32>(shape + (<usize>d << 2));
      const stride = load<u32>(strides + (<usize>d << 2));
      store<u32>(ip, load<u32>(ip) + 1);
      from += stride;
      if (load<u32>(ip) < dimSize) break;
      from -= stride * dimSize;
      store<u32>(ip, 0);
    }
  }
}
