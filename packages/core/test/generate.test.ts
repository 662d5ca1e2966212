// Generation on the reference and wasm backends: cached decoding and
// transformers parity (generate-suite.ts), plus sampling, stop tokens,
// limits, abort, leaks and the text helpers.
import { setFlagsFromString } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasmBackend } from '@lorafuse/backend-wasm';
import { referenceBackend, type Backend } from '@lorafuse/core';
import { generateSuite } from './generate-suite.js';

setFlagsFromString('--experimental-wasm-relaxed-simd');

const backends: Record<string, Backend> = {};
beforeAll(async () => {
  backends.reference = await referenceBackend().create();
  backends.wasm = await wasmBackend().create();
});
afterAll(async () => {
  for (const b of Object.values(backends)) await b.dispose();
});

for (const name of ['reference', 'wasm'])
  generateSuite(
    name,
    () => backends[name],
    (line) => console.log(line),
  );

describe('generation suite', () => {
  it('has cases', () => expect(Object.keys(backends)).toEqual(['reference', 'wasm']));
});
