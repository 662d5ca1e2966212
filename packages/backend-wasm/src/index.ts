/**
 * `@lorafuse/backend-wasm`: the SIMD WebAssembly backend of LoRAFuse, for
 * Node and browsers. This release provides feature detection; the kernels
 * follow.
 * @module \@lorafuse/backend-wasm
 */
export { wasmFeatures, type WasmFeatures } from './features.js';
