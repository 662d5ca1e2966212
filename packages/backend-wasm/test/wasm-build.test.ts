import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build helper without type declarations
import { compileKernels } from '../scripts/compile-kernels.mjs';
import { RELAXED_SIMD_WASM_BASE64, SIMD_WASM_BASE64 } from '../src/wasm/kernels.generated.js';

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('the committed WebAssembly build', () => {
  it('matches a fresh compile of assembly/ (run `npm run build:wasm -w @lorafuse/backend-wasm` when it does not)', async () => {
    const { simd, relaxed } = (await compileKernels()) as { simd: Uint8Array; relaxed: Uint8Array };
    expect(base64(simd) === SIMD_WASM_BASE64, 'src/wasm/kernels.generated.ts is stale').toBe(true);
    expect(base64(relaxed) === RELAXED_SIMD_WASM_BASE64, 'src/wasm/kernels.generated.ts is stale').toBe(true);
  });

  it('uses SIMD in both builds and fused multiply-add only in the relaxed one', () => {
    const simd = Buffer.from(SIMD_WASM_BASE64, 'base64');
    const relaxed = Buffer.from(RELAXED_SIMD_WASM_BASE64, 'base64');
    expect(WebAssembly.validate(simd)).toBe(true);
    // f32x4.relaxed_madd is 0xfd 0x85 0x02; the plain build must not contain it.
    const madd = Buffer.from([0xfd, 0x85, 0x02]);
    expect(simd.includes(madd)).toBe(false);
    expect(relaxed.includes(madd)).toBe(true);
    expect(readFileSync(new URL('../src/wasm/kernels.generated.ts', import.meta.url), 'utf8')).toContain('do not edit');
  });
});
