import { describe, expect, it } from 'vitest';
import { formatConformanceReport, runConformance } from '@lorafuse/core/testing';
import { webgpuBackend } from '../src/webgpu-backend.js';
import { acquireDawnDevice } from './acquire-device.js';

// Without an adapter the suite is skipped with a visible line, except in CI.
const handle = await acquireDawnDevice('WebGPU conformance');

describe.skipIf(!handle)('WebGPU backend conformance on Dawn', () => {
  // A fresh machine compiles every shader cold on lavapipe (3–10 s per matmul
  // variant under load), so the budget is generous; a warm run takes 10–35 s.
  it('passes the core conformance suite', { timeout: 330_000 }, async () => {
    // One device for every backend instance the suite creates: Dawn devices are slow to create on lavapipe.
    const factory = webgpuBackend({ handle });
    const report = await runConformance(() => factory.create(), { timeBudgetMs: 300_000, filter: process.env.LORAFUSE_CONFORMANCE_FILTER });
    console.log(formatConformanceReport(report));
    expect(report.cases.filter((c) => c.status === 'failed').map((c) => `${c.name}: ${c.error}`)).toEqual([]);
    expect(report.skipped).toBe(0);
  });

  // The adapter picks one variant of the kernels that have two (CPU adapters
  // get those without workgroup memory); the other one must pass as well.
  const cpu = handle?.info.isFallback ?? false;
  it(`passes the cases of the kernels with variants using the ${cpu ? 'GPU' : 'CPU'} variants too`, { timeout: 330_000 }, async () => {
    const factory = webgpuBackend({ handle, cpuKernels: !cpu });
    const report = await runConformance(() => factory.create(), {
      timeBudgetMs: 300_000,
      filter: /^(matmul|loraLinear|rmsNorm|rmsNormBackward|crossEntropy)\//,
    });
    console.log(formatConformanceReport(report));
    handle?.device.destroy();
    expect(report.passed).toBeGreaterThan(20);
    expect(report.cases.filter((c) => c.status === 'failed').map((c) => `${c.name}: ${c.error}`)).toEqual([]);
  });
});
