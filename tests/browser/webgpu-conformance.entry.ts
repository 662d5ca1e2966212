import { runConformance, type ConformanceCaseResult } from '@lorafuse/core/testing';
import { requestWebGPUDevice } from '../../packages/backend-webgpu/src/device.js';
import { webgpuBackend } from '../../packages/backend-webgpu/src/webgpu-backend.js';
import { budgetMs, check, recordCase, runEntry } from './report.js';

// The conformance suite on the WebGPU backend in headless Chromium, whose
// adapter is SwiftShader (a CPU emulation without shader-f16).
const REPORTING_MARGIN_MS = 5_000;
const SUITE_BUDGET_MS = 120_000;

await runEntry('webgpu-conformance', async () => {
  let handle: Awaited<ReturnType<typeof requestWebGPUDevice>> | undefined;
  const acquired = await check('a WebGPU device is available', async () => {
    handle = await requestWebGPUDevice();
  });
  if (!acquired || !handle) return;
  const factory = webgpuBackend({ handle });
  const toCase = (c: ConformanceCaseResult) => ({ name: `webgpu: ${c.name}`, status: c.status, ms: c.ms, ...(c.error ? { error: c.error } : {}) });
  const report = await runConformance(() => factory.create(), {
    timeBudgetMs: Math.min(SUITE_BUDGET_MS, budgetMs(SUITE_BUDGET_MS + REPORTING_MARGIN_MS) - REPORTING_MARGIN_MS),
    onCase: (c) => recordCase(toCase(c)),
  });
  // Cases the time budget left out are not passed to onCase.
  for (const c of report.cases) if (c.status === 'skipped') recordCase(toCase(c));
  handle.device.destroy();
});
