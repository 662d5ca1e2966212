import { LoraFuseError } from '@lorafuse/core';
import { wasmFeatures } from '../features.js';
import type { KernelExports } from './exports.js';
import { RELAXED_SIMD_WASM_BASE64, SIMD_WASM_BASE64 } from './kernels.generated.js';

/** Which build of the kernels to run: plain SIMD128 or relaxed SIMD (fused multiply-add). */
export type SimdBuild = 'plain' | 'relaxed';

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const compiled = new Map<SimdBuild, Promise<WebAssembly.Module>>();

/**
 * The build to use: `requested` when given (throwing `BACKEND_INIT_FAILED`
 * when the engine lacks it), otherwise relaxed where `WebAssembly.validate`
 * accepts it and plain SIMD elsewhere.
 */
export function chooseBuild(requested?: SimdBuild): SimdBuild {
  const features = wasmFeatures();
  if (!features.simd) {
    throw new LoraFuseError('BACKEND_INIT_FAILED', 'The wasm backend needs WebAssembly SIMD128, which this engine lacks (Node ≥ 16.4, Chrome ≥ 91, Firefox ≥ 89, Safari ≥ 16.4).');
  }
  if (requested === 'relaxed' && !features.relaxedSimd) {
    throw new LoraFuseError('BACKEND_INIT_FAILED', 'Relaxed SIMD is not available here (Node 20 needs --experimental-wasm-relaxed-simd); use simd: "plain" or leave it unset.');
  }
  return requested ?? (features.relaxedSimd ? 'relaxed' : 'plain');
}

/** Compiles a build once per process and instantiates it: every call gets a fresh instance with its own memory. */
export async function instantiateKernels(build: SimdBuild): Promise<KernelExports> {
  let module = compiled.get(build);
  if (!module) {
    module = WebAssembly.compile(decodeBase64(build === 'relaxed' ? RELAXED_SIMD_WASM_BASE64 : SIMD_WASM_BASE64) as Uint8Array<ArrayBuffer>);
    compiled.set(build, module);
  }
  const instance = await WebAssembly.instantiate(await module, {});
  return instance.exports as unknown as KernelExports;
}
