import { RELAXED_SIMD_PROBE, SIMD_PROBE, THREADS_PROBE } from './probes.js';

/** The optional WebAssembly features the wasm backend can use here. */
export interface WasmFeatures {
  /** Fixed-width SIMD (128-bit vectors). */
  readonly simd: boolean;
  /** Relaxed SIMD (fused multiply-add and friends). Node 20 needs `--experimental-wasm-relaxed-simd`. */
  readonly relaxedSimd: boolean;
  /**
   * Shared memory across workers: the engine accepts shared memories and
   * atomics, `SharedArrayBuffer` exists and, in browsers, the page is
   * cross-origin isolated (served with COOP `same-origin` and COEP
   * `require-corp`).
   */
  readonly threads: boolean;
}

function validates(bytes: BufferSource): boolean {
  try {
    return WebAssembly.validate(bytes);
  } catch {
    // Engines that predate a feature's encoding may throw instead of answering false.
    return false;
  }
}

function sharedMemoryAllowed(): boolean {
  if (typeof SharedArrayBuffer !== 'function') return false;
  // `crossOriginIsolated` exists only in browsers and workers; Node leaves it
  // undefined and never restricts SharedArrayBuffer.
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

/**
 * Detects SIMD, relaxed SIMD and threads support by validating tiny
 * hand-assembled modules. Cheap (no compilation); safe to call often.
 */
export function wasmFeatures(): WasmFeatures {
  if (typeof WebAssembly !== 'object') return Object.freeze({ simd: false, relaxedSimd: false, threads: false });
  return Object.freeze({
    simd: validates(SIMD_PROBE),
    relaxedSimd: validates(RELAXED_SIMD_PROBE),
    threads: validates(THREADS_PROBE) && sharedMemoryAllowed(),
  });
}
