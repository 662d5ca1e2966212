// Issue 5 acceptance: the model parity checks (logits, loss, LoRA gradients,
// AdamW) against the PyTorch fixtures, and the trainer's bit-exact resume, on the wasm backend.
import type { Backend } from '@lorafuse/core';
import { afterAll, beforeAll, describe } from 'vitest';
import { modelParitySuite, resumeSuite } from '../../core/test/model-parity-suite.js';
import { wasmBackend } from '../src/backend.js';

let backend: Backend;
beforeAll(async () => {
  backend = await wasmBackend().create();
});
afterAll(async () => {
  await backend.dispose();
});

modelParitySuite('wasm', () => backend);
describe('wasm: trainer checkpoints', () => resumeSuite('wasm', () => backend));
