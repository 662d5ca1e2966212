import { LoraFuseError, referenceBackend, type Backend, type BackendFactory } from '@lorafuse/core';
import { sharedGpu } from './matmul-peers.js';

/** How a bench starts our backend. */
export interface BenchBackendOptions {
  /** wasm build (`plain` or `relaxed`); default: the backend's own choice. */
  readonly simd?: string;
  /** wasm threads. */
  readonly threads: number;
  /** The command named in errors (`bench matmul`, `bench train`). */
  readonly command: string;
}

// The backend packages are optional at run time, as in the CLI runtime.
const BACKEND_PACKAGES: Readonly<Record<string, readonly [string, string]>> = {
  wasm: ['@lorafuse/backend-wasm', 'wasmBackend'],
  webgpu: ['@lorafuse/backend-webgpu', 'webgpuBackend'],
};

/**
 * Starts our backend `name` (`wasm`, `webgpu` or `reference`) for a bench:
 * wasm with the asked build and thread count, webgpu on the adapter of
 * {@link sharedGpu} (the one the tfjs peer uses too). Throws
 * `BACKEND_NOT_FOUND` when the backend's package is not installed.
 */
export async function createBenchBackend(name: string, options: BenchBackendOptions): Promise<Backend> {
  let factory: BackendFactory = referenceBackend();
  const spec = BACKEND_PACKAGES[name];
  if (spec) {
    let module: Record<string, (options: object) => BackendFactory>;
    try {
      module = (await import(/* @vite-ignore */ spec[0])) as typeof module;
    } catch (cause) {
      throw new LoraFuseError('BACKEND_NOT_FOUND', `${options.command}: the ${name} backend needs ${spec[0]}: run \`npm install ${spec[0]}\`.`, { cause });
    }
    factory = module[spec[1]](name === 'webgpu' ? { gpu: await sharedGpu() } : { simd: options.simd, threads: options.threads });
  }
  return factory.create();
}
