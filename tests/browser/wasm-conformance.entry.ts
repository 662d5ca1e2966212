import { wasmBackend, wasmFeatures, type SimdBuild } from '@lorafuse/backend-wasm';
import { runConformance, type ConformanceCaseResult } from '@lorafuse/core/testing';
import { budgetMs, recordCase, runEntry } from './report.js';

// The conformance suite on the wasm backend in Chromium, on 1 thread
// (wasm-threads.entry.ts runs 2): the plain SIMD build, then the
// relaxed-SIMD build (current Chromium ships relaxed SIMD), each with half
// the page's budget.
const REPORTING_MARGIN_MS = 5_000;

await runEntry('wasm-conformance', async () => {
  const builds: SimdBuild[] = wasmFeatures().relaxedSimd ? ['plain', 'relaxed'] : ['plain'];
  const share = (budgetMs(120_000) - REPORTING_MARGIN_MS) / builds.length;
  for (const simd of builds) {
    const factory = wasmBackend({ simd, threads: 1 });
    const toCase = (c: ConformanceCaseResult) => ({ name: `wasm ${simd}: ${c.name}`, status: c.status, ms: c.ms, ...(c.error ? { error: c.error } : {}) });
    const report = await runConformance(() => factory.create(), { timeBudgetMs: share, onCase: (c) => recordCase(toCase(c)) });
    // Cases the time budget left out are not passed to onCase.
    for (const c of report.cases) if (c.status === 'skipped') recordCase(toCase(c));
  }
});
