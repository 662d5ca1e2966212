/// <reference types="@webgpu/types" />

/**
 * Compiled compute pipelines by WGSL source. Kernels specialise their
 * shaders by writing constants into the source, so the source is the key.
 */
export class PipelineCache {
  readonly #device: GPUDevice;
  readonly #pipelines = new Map<string, GPUComputePipeline>();

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Number of distinct pipelines compiled so far. */
  get size(): number {
    return this.#pipelines.size;
  }

  /** The pipeline of `code` (entry point `main`), compiled on first use. */
  get(code: string): GPUComputePipeline {
    let pipeline = this.#pipelines.get(code);
    if (!pipeline) {
      const module = this.#device.createShaderModule({ code });
      pipeline = this.#device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.#pipelines.set(code, pipeline);
    }
    return pipeline;
  }
}
