// PEFT LoRA adapters: config parsing with PEFT's targeting and scaling rules, loading and saving `adapter_config.json` + `adapter_model.safetensors`.
export type { AdapterConfig, LoraAdapter, LoraModule } from './types.js';
export { adapterConfigToJson, createAdapterConfig, parseAdapterConfig, type AdapterConfigOptions } from './config.js';
export { isTargetModule, loraScaling, moduleHyperparameters } from './targeting.js';
export { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from './keys.js';
export { createLoraModule } from './module.js';
export { loadAdapter, loadAdapterConfig, type LoadAdapterOptions } from './load.js';
export { configForSave, saveAdapter } from './save.js';
export { describeAdapter, type AdapterModuleDescription, type AdapterDescription } from './describe.js';
