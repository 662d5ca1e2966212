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
    handle?.device.destroy();
    expect(report.cases.filter((c) => c.status === 'failed').map((c) => `${c.name}: ${c.error}`)).toEqual([]);
    expect(report.skipped).toBe(0);
  });
});
