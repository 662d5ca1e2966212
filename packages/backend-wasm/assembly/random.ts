// Philox4x32-10 keyed by (seed, stream) with counter [c lo32, c hi32, 0, 0]:
// the same stream as the reference, bit for bit.

const M0: u64 = 0xd2511f53;
const M1: u64 = 0xcd9e8d57;
const W0: u32 = 0x9e3779b9;
const W1: u32 = 0xbb67ae85;

/** Word 0 of Philox4x32-10 for counter `c` and key `[k0, k1]`. */
function philoxWord0(c: u64, k0: u32, k1: u32): u32 {
  let c0 = <u32>c;
  let c1 = <u32>(c >> 32);
  let c2: u32 = 0;
  let c3: u32 = 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += W0;
      k1 += W1;
    }
    const p0 = M0 * <u64>c0;
    const p1 = M1 * <u64>c2;
    c0 = <u32>(p1 >> 32) ^ c1 ^ k0;
    c1 = <u32>p1;
    c2 = <u32>(p0 >> 32) ^ c3 ^ k1;
    c3 = <u32>p0;
  }
  return c0;
}

// @ts-ignore: decorator
@inline function uniformAt(c: u64, seed: u32, stream: u32): f64 {
  return <f64>(philoxWord0(c, seed, stream) >> 8) * 5.9604644775390625e-8;
}

/** `out[i] = U(offset + i)` in [0, 1). */
export function randomUniform(out: usize, size: usize, seed: u32, stream: u32, offset: u64): void {
  for (let i: usize = 0; i < size; i++) store<f32>(out + (i << 2), <f32>uniformAt(offset + <u64>i, seed, stream));
}

/**
 * Inverted dropout: `out[i] = x[i] · scale` where the top 24 bits of the
 * Philox word at counter `offset + i` reach `threshold` (that is, `U ≥ p`),
 * else +0. `offset` is an f64, exact below 2⁵³, because threaded calls
 * carry their arguments as numbers.
 */
export function dropout(x: usize, out: usize, size: usize, seed: u32, stream: u32, offset: f64, threshold: u32, scale: f32): void {
  const start = <u64>offset;
  for (let i: usize = 0; i < size; i++) {
    const kept = philoxWord0(start + <u64>i, seed, stream) >> 8 >= threshold;
    store<f32>(out + (i << 2), kept ? load<f32>(x + (i << 2)) * scale : 0);
  }
}

/** `out[i] = mean + std · N(offset + i)`, Box–Muller on consecutive pairs of the uniform stream; each pair is computed once. */
export function randomNormal(out: usize, size: usize, seed: u32, stream: u32, offset: u64, mean: f64, std: f64): void {
  let i: usize = 0;
  while (i < size) {
    const c = offset + <u64>i;
    const pair = c & ~(<u64>1);
    const rho = Math.sqrt(-2 * Math.log(1 - uniformAt(pair, seed, stream)));
    const theta = 2 * Math.PI * uniformAt(pair + 1, seed, stream);
    if ((c & 1) == 0) {
      store<f32>(out + (i << 2), <f32>(mean + std * rho * Math.cos(theta)));
      i++;
    }
    if (i < size) {
      store<f32>(out + (i << 2), <f32>(mean + std * rho * Math.sin(theta)));
      i++;
    }
  }
}
