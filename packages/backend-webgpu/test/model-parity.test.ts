// Issue 5 acceptance: the model parity checks (logits, loss, LoRA gradients,
// AdamW) against the PyTorch fixtures, and the trainer's bit-exact resume, on the WebGPU backend (Dawn).
import { describe } from 'vitest';
import { modelParitySuite, resumeSuite } from '../../core/test/model-parity-suite.js';
import { onDawnBackend } from './acquire-device.js';

await onDawnBackend('WebGPU model parity', (backend) => {
  modelParitySuite('webgpu', backend);
  describe('webgpu: trainer checkpoints', () => resumeSuite('webgpu', backend));
});
