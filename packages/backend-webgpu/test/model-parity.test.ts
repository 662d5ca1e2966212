// Issue 5 acceptance: the model parity checks (logits, loss, LoRA gradients,
// AdamW) against the PyTorch fixtures, and the trainer's bit-exact resume, on the WebGPU backend (Dawn).
import type { Backend } from '@lorafuse/core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { modelParitySuite, resumeSuite } from '../../core/test/model-parity-suite.js';
import { webgpuBackend } from '../src/webgpu-backend.js';
import { acquireDawnDevice } from './acquire-device.js';

const handle = await acquireDawnDevice('WebGPU model parity');

if (handle) {
  let backend: Backend;
  beforeAll(async () => {
    backend = await webgpuBackend({ handle }).create();
  });
  afterAll(async () => {
    await backend.dispose();
    handle.device.destroy();
  });
  modelParitySuite('webgpu', () => backend);
  describe('webgpu: trainer checkpoints', () => resumeSuite('webgpu', () => backend));
} else {
  describe.skip('WebGPU model parity on Dawn (no adapter)', () => it('needs a WebGPU adapter', () => undefined));
}
