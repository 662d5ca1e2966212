import type { Kernels } from '../backend/kernels.js';

// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3",
// SC'11): the counter-based generator every backend reproduces bit for bit.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32, exactly (16-bit limbs keep every partial product below 2⁵³). */
function mulHi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const cross1 = aLo * bHi;
  const cross2 = aHi * bLo;
  const carry = (((aLo * bLo) >>> 16) + (cross1 & 0xffff) + (cross2 & 0xffff)) >>> 16;
  return (aHi * bHi + (cross1 >>> 16) + (cross2 >>> 16) + carry) >>> 0;
}

const block = new Uint32Array(4);

/** Runs the ten rounds on scalars (no allocation: this is the hot loop of the random kernels) into `block`. */
function rounds(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): Uint32Array {
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulHi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulHi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  block[0] = c0;
  block[1] = c1;
  block[2] = c2;
  block[3] = c3;
  return block;
}

/**
 * Philox4x32 with 10 rounds: four u32 counter words and two u32 key words in,
 * four u32 words out.
 */
export function philox4x32(counter: readonly number[], key: readonly number[]): [number, number, number, number] {
  const [a, b, c, d] = rounds(counter[0] >>> 0, counter[1] >>> 0, counter[2] >>> 0, counter[3] >>> 0, key[0] >>> 0, key[1] >>> 0);
  return [a, b, c, d];
}

const TWO_POW_32 = 2 ** 32;

/**
 * Element `index` of the uniform stream of {@link Kernels.randomUniform}:
 * word 0 of Philox with counter `[index lo32, index hi32, 0, 0]` and key
 * `[seed, stream]`, as `(u >>> 8) · 2⁻²⁴` in `[0, 1)`.
 */
export function philoxUniform(seed: number, stream: number, index: number): number {
  const u = rounds(index % TWO_POW_32, Math.floor(index / TWO_POW_32), 0, 0, seed >>> 0, stream >>> 0)[0];
  return (u >>> 8) * 2 ** -24;
}

/** Element `index` of the standard normal stream of {@link Kernels.randomNormal} (float64 Box–Muller). */
export function philoxNormal(seed: number, stream: number, index: number): number {
  const pair = index - (index % 2);
  const u1 = philoxUniform(seed, stream, pair);
  const u2 = philoxUniform(seed, stream, pair + 1);
  const rho = Math.sqrt(-2 * Math.log(1 - u1));
  const theta = 2 * Math.PI * u2;
  return index % 2 === 0 ? rho * Math.cos(theta) : rho * Math.sin(theta);
}

/**
 * A stable 32-bit RNG stream id for a name (FNV-1a over its UTF-16 code
 * units), so that tensors named alike draw the same numbers everywhere.
 */
export function rngStreamId(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
