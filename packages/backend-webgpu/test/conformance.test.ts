import { describe, expect, it } from 'vitest';
import { isLoraFuseError } from '@lorafuse/core';
import { formatConformanceReport, runConformance } from '@lorafuse/core/testing';
import { requestWebGPUDevice, type WebGPUDeviceHandle } from '../src/device.js';
import { webgpuBackend } from '../src/webgpu-backend.js';

const inCI = process.env.CI === 'true';

// Without an adapter the suite is skipped with a visible line, except in CI.
async function acquire(): Promise<WebGPUDeviceHandle | undefined> {
  try {
    return await requestWebGPUDevice();
  } catch (failure) {
    if (!isLoraFuseError(failure, 'BACKEND_INIT_FAILED') || inCI) throw failure;
    console.warn(`SKIPPED WebGPU conformance on Dawn: ${failure.message}`);
    return undefined;
  }
}
const handle = await acquire();

describe.skipIf(!handle)('WebGPU backend conformance on Dawn', () => {
  // A fresh machine compiles every shader cold on lavapipe (3–10 s per matmul
  // variant under load), so the budget is generous; a warm run takes 10–35 s.
  it('passes the core conformance suite', { timeout: 330_000 }, async () => {
    // One device for every backend instance the suite creates: Dawn devices are slow to create on lavapipe.
    const factory = webgpuBackend({ handle });
    const report = await runConformance(() => factory.create(), { timeBudgetMs: 300_000, filter: process.env.LORAFUSE_CONFORMANCE_FILTER });
    console.log(formatConformanceReport(report));
    handle?.device.destroy();
    expect(report.cases.filter((c) => c.status === 'failed').map((c) => `${c.name}: ${c.error}`)).toEqual([]);
    expect(report.skipped).toBe(0);
  });
});
