import { referenceBackend, type Backend } from '@lorafuse/core';
import { BACKEND_PACKAGES, importBackendPackage } from '../backend-packages.js';
import { sharedGpu } from './matmul-peers.js';

/** How a bench starts our backend. */
export interface BenchBackendOptions {
  /** wasm build (`plain` or `relaxed`); default: the backend's own choice. */
  readonly simd?: string;
  /** wasm threads. */
  readonly threads: number;
}

/**
 * Starts our backend `name` (`wasm`, `webgpu` or `reference`) for a bench:
 * wasm with the asked build and thread count, webgpu on the adapter of
 * {@link sharedGpu} (the one the tfjs peer uses too). Throws
 * `BACKEND_NOT_INSTALLED` when the backend's packages are not installed.
 */
export async function createBenchBackend(name: string, options: BenchBackendOptions): Promise<Backend> {
  const backend = BACKEND_PACKAGES.find((b) => b.name === name);
  if (!backend) return referenceBackend().create();
  const makeFactory = await importBackendPackage(backend);
  return makeFactory(name === 'webgpu' ? { gpu: await sharedGpu() } : { simd: options.simd, threads: options.threads }).create();
}
