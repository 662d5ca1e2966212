// Hugging Face model folders of Llama-family causal LMs (Llama, Mistral, Qwen2): `config.json` parsing and checked, lazily read safetensors weights.
export type { ModelCheckpoint, ModelConfig, ModelType, RopeScaling } from './types.js';
export { parseModelConfig } from './config.js';
export { checkModelWeights, expectedModelWeights, type WeightSpec } from './weights.js';
export { MODEL_CONFIG_FILE, MODEL_WEIGHTS_FILE, loadModelConfig, openModelFolder, type OpenModelOptions } from './open.js';
export { describeModel, type ModelDescription } from './describe.js';
