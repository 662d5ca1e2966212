import { setFlagsFromString } from 'node:v8';
import { formatConformanceReport, runConformance } from '@lorafuse/core/testing';
import { describe, expect, it } from 'vitest';
import { wasmBackend } from '../src/backend.js';
import { wasmFeatures } from '../src/features.js';

// Node 20 ships relaxed SIMD behind a flag; V8 accepts it at run time, before
// the first relaxed module compiles (Node 22+ has it on already).
setFlagsFromString('--experimental-wasm-relaxed-simd');

// With 2 threads every call of a kernel that splits is split (minParallelWork
// 0), so the suite's small shapes exercise the thread paths too. Relaxed
// SIMD with 2 threads runs the kernels that split (the rest is the same
// code as plain SIMD with 2 threads), keeping the file well under a minute.
// The time budget only stops a hung suite (below vitest's test timeout):
// every case must run, however busy the machine.
const SPLIT_KERNELS =
  /^(matmul|loraLinear|attention|attentionBackward|add|mul|scale|abs|sqrt|dropout|silu|siluBackward|swiglu|swigluBackward|geglu|gegluBackward|softcap|softcapBackward|rmsNorm|rmsNormBackward|crossEntropy|crossEntropyBackward|reshape|permute|rope|ropeBackward|loraImportance)\//;

describe.each([
  ['plain', 1, undefined],
  ['relaxed', 1, undefined],
  ['plain', 2, undefined],
  ['relaxed', 2, SPLIT_KERNELS],
] as const)('wasm backend conformance (%s SIMD, %i thread(s))', (simd, threads, filter) => {
  it('passes every case of the suite against the reference backend', async () => {
    expect(wasmFeatures().relaxedSimd).toBe(true);
    const factory = wasmBackend({ simd, threads, minParallelWork: 0 });
    const report = await runConformance(() => factory.create(), { timeBudgetMs: 240_000, ...(filter ? { filter } : {}) });
    const summary = formatConformanceReport(report);
    expect(report.description).toContain(simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD128');
    expect(report.description).toContain(threads === 1 ? '1 thread' : '2 threads');
    expect(report.failed, summary).toBe(0);
    expect(report.skipped, summary).toBe(0);
    expect(report.passed).toBeGreaterThan(filter ? 40 : 150);
  });
});
