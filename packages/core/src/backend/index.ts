export { BACKEND_PRIORITIES, type Backend, type BackendFactory, type BackendMemory, type BackendMemoryPeaks } from './backend.js';
export { DEVICE_DTYPES, DeviceTensorTable, uploadDType, type DeviceDType, type DeviceTensor } from './device-tensor.js';
export { headsFirstAttention, headsFirstAttentionBackward, type AttentionLayoutHost } from './attention-layout.js';
export * from './geometry.js';
export type * from './kernels.js';
export { BackendRegistry, type BackendAttempt, type BackendSelection } from './registry.js';
export { Runtime, type RuntimeOptions } from './runtime.js';
export { selectionKey } from './selection-key.js';
