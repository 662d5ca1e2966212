// llama.cpp interop: LoRA adapters as the GGUF files llama.cpp loads.
export { GGUF_ARCHITECTURES, ggufWeightName, interleaveRopeRows } from './names.js';
export { exportGgufAdapter, type GgufAdapterExport, type GgufAdapterModule, type GgufAdapterOptions } from './export.js';
