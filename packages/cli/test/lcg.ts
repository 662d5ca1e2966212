/**
 * A seeded linear congruential generator (the C library's constants): each
 * call gives the next value in [0, 1). Tests use it to make small inputs
 * that are the same on every run and runtime.
 */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}
