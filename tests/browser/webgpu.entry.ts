/// <reference types="@webgpu/types" />
import { requestWebGPUDevice, type WebGPUDeviceHandle } from '@lorafuse/backend-webgpu';
import { addArraysOnGpu } from '../../packages/backend-webgpu/test/add-arrays.js';
import { assert, check, runEntry } from './report.js';

// WebGPU in headless Chromium: the harness launches it with
// --enable-unsafe-webgpu, which gives a SwiftShader (CPU) adapter.
await runEntry('webgpu', async () => {
  await check('navigator.gpu exists', () => assert(navigator.gpu, 'navigator.gpu is missing: WebGPU is not enabled in this browser'));

  let handle: WebGPUDeviceHandle | undefined;
  const acquired = await check('requestWebGPUDevice finds an adapter and creates a device from navigator.gpu', async () => {
    handle = await requestWebGPUDevice();
    assert(handle.source === 'navigator', `device came from ${handle.source}, expected navigator`);
  });
  if (!acquired || !handle) return;
  const { device, adapter, info } = handle;

  await check(`a SwiftShader adapter is reported as fallback, any other as not (${info.vendor} ${info.architecture})`, () => {
    const swiftShader = info.architecture.toLowerCase() === 'swiftshader';
    assert(info.isFallback === swiftShader, `isFallback is ${info.isFallback} for ${JSON.stringify(info)}`);
  });

  await check('optional features are enabled exactly where the adapter has them', () => {
    for (const feature of ['shader-f16', 'subgroups', 'timestamp-query'] as const) {
      const expected = adapter.features.has(feature);
      assert(device.features.has(feature) === expected, `${feature}: device ${device.features.has(feature)}, adapter ${expected}`);
      assert(info.features.includes(feature) === expected, `${feature} missing from info.features ${info.features.join(',')}`);
    }
  });

  await check("the device has the adapter's storage limits", () => {
    for (const name of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeInvocationsPerWorkgroup'] as const) {
      assert(device.limits[name] === adapter.limits[name], `${name}: device ${device.limits[name]}, adapter ${adapter.limits[name]}`);
    }
  });

  await check('a compute shader adds two arrays of odd length exactly', async () => {
    const n = 777;
    const a = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 100);
    const b = Float32Array.from({ length: n }, (_, i) => 1 / (i + 1));
    const sum = await addArraysOnGpu(device, a, b);
    for (let i = 0; i < n; i++) {
      // The f32 sum of two f32 values is their exact sum rounded once to f32.
      const expected = Math.fround(a[i] + b[i]);
      assert(sum[i] === expected, `element ${i}: got ${sum[i]}, expected ${expected}`);
    }
  });

  device.destroy();
});
