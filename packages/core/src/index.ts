/**
 * `@lorafuse/core`: the backend-agnostic core of LoRAFuse.
 * @module \@lorafuse/core
 */
export * from './errors/index.js';
export * from './tensor/index.js';
export * from './io/index.js';
export * from './io/safetensors/index.js';
export * from './adapter/index.js';
export * from './model/index.js';
export * from './llamacpp/index.js';
export * from './backend/index.js';
export * from './reference/index.js';
export * from './plugin/index.js';
export * from './merge/index.js';
export * from './search/index.js';
export * from './prune/index.js';
export * from './stats/index.js';
export * from './adapt/index.js';
export * from './autograd/index.js';
export * as ops from './ops/index.js';
export * from './tokenizer/index.js';
export * from './data/index.js';
export * from './train/index.js';
export * from './eval/index.js';
export * from './worker/index.js';
export * from './generate/index.js';
