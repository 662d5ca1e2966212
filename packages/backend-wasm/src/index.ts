/**
 * `@lorafuse/backend-wasm`: the SIMD WebAssembly backend of LoRAFuse, for
 * Node and browsers. Every kernel of the contract runs in WebAssembly
 * compiled from AssemblyScript, with a relaxed-SIMD build used where the
 * engine supports it; matmul, LoRA linear and attention split across
 * worker threads sharing one memory where shared memory is allowed.
 * @module \@lorafuse/backend-wasm
 */
export { WASM32_LIMIT_BYTES } from './arena.js';
export { WasmBackend, wasmBackend, type WasmBackendOptions } from './backend.js';
export { wasmMemoryTraits, type WasmMemoryTraitsOptions } from './memory-traits.js';
export { wasmFeatures, type WasmFeatures } from './features.js';
export type { ThreadUse } from './threads/pool.js';
export type { SimdBuild } from './wasm/module.js';
