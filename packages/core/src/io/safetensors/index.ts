export type { SafetensorsDType } from './dtypes.js';
export type { SafetensorsLimits, TensorInfo, TensorStore } from './types.js';
export { DEFAULT_SAFETENSORS_LIMITS } from './header.js';
export { SafetensorsFile } from './file.js';
export { encodeSafetensors, writeSafetensors, type NamedTensors } from './encode.js';
export { openCheckpoint, type OpenCheckpointOptions } from './checkpoint.js';
export { describeSafetensors, type SafetensorsDescription } from './describe.js';
