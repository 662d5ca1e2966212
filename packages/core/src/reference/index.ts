export { ReferenceBackend, referenceBackend } from './backend.js';
export { philox4x32, philoxNormal, philoxUniform } from './philox.js';
