/// <reference types="@webgpu/types" />
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { isLoraFuseError } from '@lorafuse/core';
import { isFallbackAdapterInfo, requestWebGPUDevice, type WebGPUDeviceHandle } from '@lorafuse/backend-webgpu';
import { addArraysOnGpu } from './add-arrays.js';

const inCI = process.env.CI === 'true';

// A machine without an adapter skips the Dawn suite with a visible line,
// except in CI where the adapter is part of the contract.
async function acquire(): Promise<{ handle?: WebGPUDeviceHandle; failure?: unknown }> {
  try {
    return { handle: await requestWebGPUDevice() };
  } catch (failure) {
    if (!isLoraFuseError(failure, 'BACKEND_INIT_FAILED')) throw failure;
    if (!inCI) console.warn(`SKIPPED WebGPU on Dawn: ${failure.message}`);
    return { failure };
  }
}
const acquired = await acquire();

/** Numbers from a small deterministic generator (an LCG), spread over ±1000. */
function pseudoRandom(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32 - 0.5) * 2000;
  }
  return out;
}

describe.skipIf(!acquired.handle && !inCI)('WebGPU device on Dawn', () => {
  const handle = (): WebGPUDeviceHandle => {
    if (!acquired.handle) throw acquired.failure;
    return acquired.handle;
  };
  afterAll(() => acquired.handle?.device.destroy());

  it('comes from Dawn and describes its adapter', () => {
    const { source, info } = handle();
    expect(source).toBe('dawn');
    expect(typeof info.vendor).toBe('string');
    expect(info.vendor + info.architecture + info.device + info.description).not.toBe('');
  });

  it('flags Mesa llvmpipe as a fallback adapter, and only a software adapter', () => {
    const { info } = handle();
    const llvmpipe = info.description.includes('llvmpipe') || info.device.includes('llvmpipe');
    expect(info.isFallback).toBe(llvmpipe);
  });

  it("is created with the adapter's compute limits, above the WebGPU defaults", () => {
    const { device, adapter } = handle();
    for (const name of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupStorageSize'] as const) {
      expect(device.limits[name], name).toBe(adapter.limits[name]);
    }
    // WebGPU's default is 256 MiB; every Vulkan adapter Dawn exposes offers more.
    expect(device.limits.maxBufferSize).toBeGreaterThan(268_435_456);
  });

  it('enables the optional features the adapter has', () => {
    const { device, adapter, info } = handle();
    for (const feature of ['shader-f16', 'subgroups', 'timestamp-query'] as const) {
      expect(device.features.has(feature), feature).toBe(adapter.features.has(feature));
      expect(info.features.includes(feature), feature).toBe(adapter.features.has(feature));
    }
  });

  it('runs a compute shader: adds two arrays of odd length exactly', async () => {
    const a = pseudoRandom(1001, 1);
    const b = pseudoRandom(1001, 2);
    const sum = await addArraysOnGpu(handle().device, a, b);
    // The f32 sum of two f32 values is their exact sum rounded once to f32.
    const expected = Float32Array.from(a, (x, i) => Math.fround(x + b[i]));
    expect(sum).toEqual(expected);
  });

  it('keeps Dawn alive while only the device is held, through garbage collection', async () => {
    // Dawn aborts the whole process when its instance is collected before its
    // devices, so a failure here shows as a crashed test worker.
    const acquireDeviceOnly = async (): Promise<GPUDevice> => (await requestWebGPUDevice()).device;
    const device = await acquireDeviceOnly();
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await addArraysOnGpu(device, Float32Array.of(1.5, -2), Float32Array.of(0.25, 8))).toEqual(Float32Array.of(1.75, 6));
    device.destroy();
  });
});

/** A stand-in `GPU` whose adapter offers `features` and `limits`, recording what the device request asked for. */
function fakeGpu(adapter: Partial<GPUAdapter> | null, requests: GPUDeviceDescriptor[] = []): GPU {
  const withDevice = adapter && {
    info: { vendor: 'acme', architecture: 'tile', device: 'x1', description: 'Acme X1', isFallbackAdapter: false },
    ...adapter,
    requestDevice:
      adapter.requestDevice ??
      (async (descriptor?: GPUDeviceDescriptor) => {
        requests.push(descriptor ?? {});
        return { features: new Set(descriptor?.requiredFeatures ?? []) } as unknown as GPUDevice;
      }),
  };
  return { requestAdapter: async () => withDevice } as unknown as GPU;
}

describe('requestWebGPUDevice without a GPU', () => {
  it('fails with BACKEND_INIT_FAILED when no adapter is found', async () => {
    const error = await requestWebGPUDevice({ gpu: fakeGpu(null) }).catch((e: unknown) => e);
    expect(isLoraFuseError(error, 'BACKEND_INIT_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/--enable-unsafe-webgpu/);
  });

  it('fails with BACKEND_INIT_FAILED, keeping the cause, when the device is refused', async () => {
    const refusal = new Error('limits too high');
    const gpu = fakeGpu({ features: new Set() as GPUSupportedFeatures, limits: {} as GPUSupportedLimits, requestDevice: () => Promise.reject(refusal) });
    const error = await requestWebGPUDevice({ gpu }).catch((e: unknown) => e);
    expect(isLoraFuseError(error, 'BACKEND_INIT_FAILED')).toBe(true);
    expect((error as Error).cause).toBe(refusal);
  });

  it('asks only for the optional features the adapter has, and for its limits', async () => {
    const requests: GPUDeviceDescriptor[] = [];
    const limits = { maxBufferSize: 2 ** 32 - 1, maxStorageBufferBindingSize: 2 ** 30, maxComputeInvocationsPerWorkgroup: 1024 };
    const gpu = fakeGpu(
      { features: new Set(['shader-f16', 'texture-compression-bc']) as GPUSupportedFeatures, limits: limits as GPUSupportedLimits },
      requests,
    );
    const { info, source } = await requestWebGPUDevice({ gpu });
    expect(source).toBe('provided');
    expect(requests[0]?.requiredFeatures).toEqual(['shader-f16']);
    expect(requests[0]?.requiredLimits).toEqual(limits);
    expect(info).toMatchObject({ vendor: 'acme', device: 'x1', isFallback: false, features: ['shader-f16'] });
  });
});

describe('isFallbackAdapterInfo', () => {
  it.each([
    ['Dawn on Mesa llvmpipe', { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15', description: 'llvmpipe: Mesa 25.0.7' }, true],
    ['Chromium SwiftShader', { vendor: 'google', architecture: 'swiftshader', device: '', description: '' }, true],
    ['Vulkan lavapipe by driver name', { vendor: '', architecture: '', device: '', description: 'lavapipe (Mesa)' }, true],
    ['Windows WARP', { vendor: 'microsoft', architecture: '', device: 'Microsoft Basic Render Driver', description: '' }, true],
    ['an adapter flagged isFallbackAdapter', { vendor: 'acme', architecture: 'tile', device: 'x1', description: '', isFallbackAdapter: true }, true],
    ['an NVIDIA GPU', { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H200', description: 'NVIDIA: 570.0' }, false],
    ['an adapter that reports nothing', {}, false],
  ])('%s → %s', (_label, identity, expected) => {
    expect(isFallbackAdapterInfo(identity)).toBe(expected);
  });
});
