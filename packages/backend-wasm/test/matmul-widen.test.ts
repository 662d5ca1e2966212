// The matmul widens f16/bf16 weights with SIMD while packing them: every
// one of the 65 536 bit patterns of each format, through both packing paths
// (B and Bᵀ) and both builds, must come out as its exact value.
import { Tensor } from '@lorafuse/core';
import { afterAll, describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { WasmBackend } from '../src/backend.js';

setFlagsFromString('--experimental-wasm-relaxed-simd');

const PATTERNS = 1 << 16;
/** Deep enough for the vector path (4 k at a time) and a scalar tail. */
const K = 9;
/** The k index that holds the patterns; every other row of op(B) is zero. */
const P = 6;

/**
 * The value of a 16-bit float pattern with `manBits` mantissa bits (f16: 10,
 * bf16: 7) and the rest exponent, from the IEEE 754 definition.
 */
function halfValue(h: number, manBits: number): number {
  const expBits = 15 - manBits;
  const bias = 2 ** (expBits - 1) - 1;
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> manBits) & (2 ** expBits - 1);
  const man = h & (2 ** manBits - 1);
  if (exp === 2 ** expBits - 1) return man === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * man * 2 ** (1 - bias - manBits);
  return sign * (1 + man / 2 ** manBits) * 2 ** (exp - bias);
}

const backends: WasmBackend[] = [];
afterAll(async () => {
  await Promise.all(backends.map((b) => b.dispose()));
});

describe.each(['plain', 'relaxed'] as const)('wasm matmul, %s SIMD: f16/bf16 weights', (simd) => {
  it.each([
    ['f16', 10],
    ['bf16', 7],
  ] as const)('widens every %s bit pattern exactly, in B and in Bᵀ', async (dtype, manBits) => {
    const backend = await WasmBackend.create({ simd, threads: 1 });
    backends.push(backend);
    // a = e_P, so C = 0·0 + … + 1·b + … + 0·0 = 0 + b: -0 turns into +0, Inf and NaN pass through.
    const a = backend.upload(
      Tensor.f32(
        [1, K],
        Float32Array.from({ length: K }, (_, p) => (p === P ? 1 : 0)),
      ),
    );
    const rows = new Uint16Array(K * PATTERNS);
    const columns = new Uint16Array(PATTERNS * K);
    for (let h = 0; h < PATTERNS; h++) {
      rows[P * PATTERNS + h] = h;
      columns[h * K + P] = h;
    }
    const cases = [
      { name: 'B', b: new Tensor(dtype, [K, PATTERNS], rows), transB: false },
      { name: 'Bᵀ', b: new Tensor(dtype, [PATTERNS, K], columns), transB: true },
    ];
    for (const { name, b, transB } of cases) {
      const c = backend.readSync(backend.kernels.matmul(a, backend.upload(b), { transB })).data as Float32Array;
      const wrong: string[] = [];
      for (let h = 0; h < PATTERNS && wrong.length < 5; h++) {
        const expected = 0 + halfValue(h, manBits);
        if (Number.isNaN(expected) ? !Number.isNaN(c[h]) : !Object.is(c[h], expected)) wrong.push(`0x${h.toString(16)}: ${c[h]}, expected ${expected}`);
      }
      expect(wrong, `${dtype} ${name}`).toEqual([]);
    }
  });
});
