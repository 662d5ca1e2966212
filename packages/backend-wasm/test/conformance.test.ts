import { setFlagsFromString } from 'node:v8';
import { formatConformanceReport, runConformance } from '@lorafuse/core/testing';
import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../src/backend.js';
import { wasmFeatures } from '../src/features.js';

// Node 20 ships relaxed SIMD behind a flag; V8 accepts it at run time, before
// the first relaxed module compiles (Node 22+ has it on already).
setFlagsFromString('--experimental-wasm-relaxed-simd');

describe.each(['plain', 'relaxed'] as const)('wasm backend conformance (%s SIMD, 1 thread)', (simd) => {
  it('passes every case of the suite against the reference backend', async () => {
    expect(wasmFeatures().relaxedSimd).toBe(true);
    const factory = wasmBackend({ simd });
    const report = await runConformance(() => factory.create(), { timeBudgetMs: 50_000 });
    const summary = formatConformanceReport(report);
    expect(report.description).toContain(simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD128');
    expect(report.failed, summary).toBe(0);
    expect(report.skipped, summary).toBe(0);
    expect(report.passed).toBeGreaterThan(150);
  });
});
