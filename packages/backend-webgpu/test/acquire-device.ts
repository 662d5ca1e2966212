import { isLoraFuseError, type Backend } from '@lorafuse/core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { requestWebGPUDevice, type WebGPUDeviceHandle } from '../src/device.js';
import { webgpuBackend } from '../src/webgpu-backend.js';

/**
 * A Dawn device for a test file, or undefined (after a visible SKIPPED line
 * naming `suite`) when no adapter exists here; with `CI=true` the failure
 * is thrown instead, so CI never skips silently.
 */
export async function acquireDawnDevice(suite: string): Promise<WebGPUDeviceHandle | undefined> {
  try {
    return await requestWebGPUDevice();
  } catch (failure) {
    if (!isLoraFuseError(failure, 'BACKEND_INIT_FAILED') || process.env.CI === 'true') throw failure;
    console.warn(`SKIPPED ${suite} on Dawn: ${failure.message}`);
    return undefined;
  }
}

/**
 * Declares `suites` against one WebGPU backend on a Dawn device, created
 * before the file's tests and disposed after them; without an adapter the
 * file holds one visibly skipped test instead (see {@link acquireDawnDevice}).
 */
export async function onDawnBackend(suite: string, suites: (backend: () => Backend) => void): Promise<void> {
  const handle = await acquireDawnDevice(suite);
  if (!handle) {
    describe.skip(`${suite} on Dawn (no adapter)`, () => it('needs a WebGPU adapter', () => undefined));
    return;
  }
  let backend: Backend;
  beforeAll(async () => {
    backend = await webgpuBackend({ handle }).create();
  }, 120_000);
  afterAll(async () => {
    await backend.dispose();
    handle.device.destroy();
  });
  suites(() => backend);
}
