// Hugging Face model folders of causal LMs (Llama, Mistral, Qwen2, Qwen3, Gemma 3 text, Phi-3): `config.json` parsing and checked, lazily read safetensors weights.
export type { LayerType, ModelCheckpoint, ModelConfig, ModelType, RopeScaling, RotaryConfig } from './types.js';
export { parseModelConfig } from './config.js';
export { checkModelWeights, expectedModelWeights, type WeightSpec } from './weights.js';
export { MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE, loadModelConfig, openModelFolder, type OpenModelOptions } from './open.js';
export { initModelCheckpoint, type InitModelOptions } from './init.js';
export { saveModelFolder } from './save.js';
export { describeModel, type ModelDescription } from './describe.js';
export { checkAdapterFits } from './adapter-fit.js';
export { CausalLM, embeddingScale, type DecodeOptions, type ForwardOptions, type ForwardResult, type LoadModelOptions, type LoraDropout } from './llama.js';
export { KVCache, contextLength } from './kv-cache.js';
export { adapterParameters, freeAdapter, uploadAdapter, type DeviceAdapter, type DeviceLoraModule } from './device-adapter.js';
export { inverseFrequencies, ropeAttentionScale, ropeTables, type RopeTables } from './rope-tables.js';
export { layerProjections, loraTargetNames } from './projections.js';
export { mergeIntoBase, type MergeIntoBaseOptions } from './merge-into-base.js';
