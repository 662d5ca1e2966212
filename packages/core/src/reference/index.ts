export { ReferenceBackend, referenceBackend } from './backend.js';
export { philox4x32, philoxNormal, philoxUniform, rngStreamId } from './philox.js';
