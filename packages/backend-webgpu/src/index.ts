/**
 * `@lorafuse/backend-webgpu`: the WebGPU backend of LoRAFuse. Every kernel
 * of the contract runs as WGSL on `navigator.gpu` in browsers and workers
 * and on Dawn (the optional peer dependency `webgpu`) in Node.
 * @module \@lorafuse/backend-webgpu
 */
export { DEFAULT_OPTIONAL_FEATURES, requestWebGPUDevice, type WebGPUDeviceHandle, type WebGPUDeviceOptions } from './device.js';
export { isFallbackAdapterInfo, type AdapterIdentity, type WebGPUAdapterSummary } from './adapter-info.js';
export type { GpuSource } from './locate-gpu.js';
export { WebGPUBackend, webgpuBackend, type WebGPUBackendOptions } from './webgpu-backend.js';
export { webgpuMemoryTraits, type WebGPUMemoryLimits } from './memory-traits.js';
