/**
 * How many of `n` entries a group prunes at `ratio`: `⌊ratio · n⌋`, so a
 * group never loses more than the ratio. A product within 1e-12 (relative)
 * below an integer counts as that integer, so that decimal ratios prune what
 * they say (0.29 × 100 is 28.999999999999996 in binary and prunes 29).
 */
export function prunedCount(ratio: number, n: number): number {
  return Math.min(n, Math.floor(ratio * n * (1 + 1e-12)));
}
