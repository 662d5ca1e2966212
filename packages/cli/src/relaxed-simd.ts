import { setFlagsFromString } from 'node:v8';

/**
 * True for a V8 that has WebAssembly relaxed SIMD behind
 * `--experimental-wasm-relaxed-simd` rather than on by default: before 11.4
 * (Node 20 ships 11.3; Node 22 ships 12.4 with it on).
 */
export function relaxedSimdNeedsFlag(v8Version: string): boolean {
  const [major, minor] = v8Version.split('.').map(Number);
  return major < 11 || (major === 11 && minor < 4);
}

/**
 * Turns relaxed SIMD on where this process's V8 keeps it behind a flag, so
 * that the wasm backend picks its fused multiply-add build (1.2–1.4× the
 * plain one on the matmul) under Node 20 as it does under Node 22. V8 reads
 * the flag when it validates a module, so this must run before the first
 * one compiles. The command line owns its process, which a library does
 * not: only `bin.ts` calls this.
 */
export function enableRelaxedSimd(): void {
  if (relaxedSimdNeedsFlag(process.versions.v8)) setFlagsFromString('--experimental-wasm-relaxed-simd');
}
