import { LoraFuseError } from '@lorafuse/core';
import { wasmFeatures } from '../features.js';
import type { KernelExports } from './exports.js';
import { RELAXED_SIMD_THREADS_WASM_BASE64, RELAXED_SIMD_WASM_BASE64, SIMD_THREADS_WASM_BASE64, SIMD_WASM_BASE64 } from './kernels.generated.js';

/** Which build of the kernels to run: plain SIMD128 or relaxed SIMD (fused multiply-add). */
export type SimdBuild = 'plain' | 'relaxed';

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const BINARIES: Record<`${SimdBuild}-${'own' | 'shared'}`, string> = {
  'plain-own': SIMD_WASM_BASE64,
  'relaxed-own': RELAXED_SIMD_WASM_BASE64,
  'plain-shared': SIMD_THREADS_WASM_BASE64,
  'relaxed-shared': RELAXED_SIMD_THREADS_WASM_BASE64,
};

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * The compiled module of a build, compiled once per process. The `shared`
 * variant imports its memory (`env.memory`, shared) so that worker
 * instances run on the same bytes; the other defines its own.
 */
export function compileKernels(build: SimdBuild, shared: boolean): Promise<WebAssembly.Module> {
  const key = `${build}-${shared ? 'shared' : 'own'}` as const;
  let module = compiled.get(key);
  if (!module) {
    module = WebAssembly.compile(decodeBase64(BINARIES[key]) as Uint8Array<ArrayBuffer>);
    compiled.set(key, module);
  }
  return module;
}

/**
 * The build to use: `requested` when given (throwing `BACKEND_INIT_FAILED`
 * when the engine lacks it), otherwise relaxed where `WebAssembly.validate`
 * accepts it and plain SIMD elsewhere.
 */
export function chooseBuild(requested?: SimdBuild): SimdBuild {
  const features = wasmFeatures();
  if (!features.simd) {
    throw new LoraFuseError(
      'BACKEND_INIT_FAILED',
      'The wasm backend needs WebAssembly SIMD128, which this engine lacks (Node ≥ 16.4, Chrome ≥ 91, Firefox ≥ 89, Safari ≥ 16.4).',
    );
  }
  if (requested === 'relaxed' && !features.relaxedSimd) {
    throw new LoraFuseError(
      'BACKEND_INIT_FAILED',
      'Relaxed SIMD is not available here (Node 20 needs --experimental-wasm-relaxed-simd); use simd: "plain" or leave it unset.',
    );
  }
  return requested ?? (features.relaxedSimd ? 'relaxed' : 'plain');
}

/**
 * Instantiates a compiled module: on its own fresh memory, or on `memory`
 * (shared) for the variant that imports it. Every call gets a new instance.
 */
export async function instantiateKernels(module: WebAssembly.Module, memory?: WebAssembly.Memory): Promise<KernelExports> {
  const instance = await WebAssembly.instantiate(module, memory ? { env: { memory } } : {});
  return instance.exports as unknown as KernelExports;
}
