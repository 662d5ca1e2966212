// The PyTorch update-and-prune oracle (core's adapt-oracle-suite.ts: every
// adapt scenario, 3 steps, factors to 1e-5) on the WebGPU backend (Dawn).
import { adaptOracleSuite } from '../../core/test/adapt-oracle-suite.js';
import { onDawnBackend } from './acquire-device.js';

await onDawnBackend('WebGPU adapt oracle', (backend) => adaptOracleSuite('webgpu', backend, (line) => console.log(line)));
