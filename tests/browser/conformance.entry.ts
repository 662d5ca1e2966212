import { referenceBackend } from '@lorafuse/core';
import { runConformance, type ConformanceCaseResult } from '@lorafuse/core/testing';
import { budgetMs, recordCase, runEntry } from './report.js';

// The conformance suite of @lorafuse/core on the reference backend, in the
// browser: core and its kernels must run unchanged outside Node. Later
// backends (wasm, webgpu) add their own entries next to this one.
const REPORTING_MARGIN_MS = 5_000;

await runEntry('conformance', async () => {
  const factory = referenceBackend();
  const toCase = (c: ConformanceCaseResult) => ({ name: `${factory.name}: ${c.name}`, status: c.status, ms: c.ms, ...(c.error ? { error: c.error } : {}) });
  const report = await runConformance(() => factory.create(), {
    timeBudgetMs: budgetMs(120_000) - REPORTING_MARGIN_MS,
    onCase: (c) => recordCase(toCase(c)),
  });
  // Cases the time budget left out are not passed to onCase.
  for (const c of report.cases) if (c.status === 'skipped') recordCase(toCase(c));
});
