import { isLoraFuseError } from '@lorafuse/core';
import { requestWebGPUDevice, type WebGPUDeviceHandle } from '../src/device.js';

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
