// The PyTorch update-and-prune oracle (adapt-oracle-suite.ts) on the
// reference backend and on wasm (one thread); WebGPU runs it in
// packages/backend-webgpu/test/adapt-oracle.test.ts.
import { afterAll, beforeAll } from 'vitest';
import { wasmBackend } from '@lorafuse/backend-wasm';
import { referenceBackend, type Backend } from '@lorafuse/core';
import { adaptOracleSuite } from './adapt-oracle-suite.js';

const backends: Record<string, Backend> = {};
beforeAll(async () => {
  backends.reference = await referenceBackend().create();
  backends.wasm = await wasmBackend({ threads: 1 }).create();
});
afterAll(async () => {
  for (const b of Object.values(backends)) await b.dispose();
});

for (const name of ['reference', 'wasm'])
  adaptOracleSuite(
    name,
    () => backends[name],
    (line) => console.log(line),
  );
