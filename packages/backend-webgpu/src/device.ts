/// <reference types="@webgpu/types" />
import { LoraFuseError } from '@lorafuse/core';
import { summarizeAdapter, type WebGPUAdapterSummary } from './adapter-info.js';
import { locateGpu, type GpuSource } from './locate-gpu.js';

/** Options of {@link requestWebGPUDevice}. */
export interface WebGPUDeviceOptions {
  /** Request the device from this `GPU` object instead of `navigator.gpu` or Dawn. */
  readonly gpu?: GPU;
  /** Passed to `requestAdapter`. */
  readonly powerPreference?: GPUPowerPreference;
  /** Passed to `requestAdapter`: ask for the CPU/fallback adapter. */
  readonly forceFallbackAdapter?: boolean;
  /** Features to enable when the adapter has them; absent ones are skipped. Default {@link DEFAULT_OPTIONAL_FEATURES}. */
  readonly optionalFeatures?: readonly GPUFeatureName[];
  /** Options for Dawn's `create()` in Node (e.g. `enable-dawn-features=…`); ignored elsewhere. */
  readonly dawnOptions?: readonly string[];
  /** Label of the device, shown in WebGPU error messages. */
  readonly label?: string;
}

/** A device ready for compute, with the adapter it came from. */
export interface WebGPUDeviceHandle {
  /** The device. The caller owns it: call `device.destroy()` when done. */
  readonly device: GPUDevice;
  /** The adapter the device was created on. */
  readonly adapter: GPUAdapter;
  /** Adapter description, fallback flag and enabled features. */
  readonly info: WebGPUAdapterSummary;
  /** Where the `GPU` object came from. */
  readonly source: GpuSource;
}

/** The optional features requested by default: f16 arithmetic, subgroup operations and GPU timers. */
export const DEFAULT_OPTIONAL_FEATURES: readonly GPUFeatureName[] = Object.freeze(['shader-f16', 'subgroups', 'timestamp-query']);

// Kernels need large storage buffers and big workgroups; the WebGPU defaults
// (128 MiB bindings, 256 invocations) are far below what adapters offer, and
// a device only gets more when it asks, so every compute limit is requested
// at the adapter's own value.
const COMPUTE_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;

// Dawn aborts the process when its instance (the GPU object) is garbage
// collected before the adapters and devices made from it, and callers keep
// only the device. Tying the GPU object to both keeps it alive exactly as long
// as either is reachable.
const owningGpu = new WeakMap<GPUAdapter | GPUDevice, GPU>();

function adapterLimits(adapter: GPUAdapter): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const name of COMPUTE_LIMITS) {
    const value = adapter.limits[name];
    if (typeof value === 'number') limits[name] = value;
  }
  return limits;
}

function noAdapterMessage(source: GpuSource): string {
  if (source === 'dawn') {
    return 'Dawn found no WebGPU adapter. On a CPU-only Debian 12 machine install Mesa lavapipe from bookworm-backports (`apt-get install -t bookworm-backports mesa-vulkan-drivers`, as .ci/install-system does); on a GPU machine install its Vulkan driver.';
  }
  return 'No WebGPU adapter is available. Check that the browser has WebGPU enabled (Chromium on Linux: --enable-unsafe-webgpu) and is not blocking the GPU.';
}

/**
 * Acquires a WebGPU device for compute: `navigator.gpu` in browsers and
 * workers, Dawn (the optional peer dependency `webgpu`, loaded on demand)
 * in Node. Requests the adapter's real compute limits and the optional
 * features it supports.
 *
 * @throws LoraFuseError `BACKEND_INIT_FAILED` when WebGPU, an adapter or a
 * device is unavailable; the message says how to get one.
 */
export async function requestWebGPUDevice(options: WebGPUDeviceOptions = {}): Promise<WebGPUDeviceHandle> {
  const { gpu, source } = options.gpu ? { gpu: options.gpu, source: 'provided' as const } : await locateGpu(options.dawnOptions ?? []);
  const adapterOptions: GPURequestAdapterOptions = {};
  if (options.powerPreference !== undefined) adapterOptions.powerPreference = options.powerPreference;
  if (options.forceFallbackAdapter !== undefined) adapterOptions.forceFallbackAdapter = options.forceFallbackAdapter;

  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(adapterOptions);
  } catch (cause) {
    throw new LoraFuseError('BACKEND_INIT_FAILED', `${noAdapterMessage(source)} (requestAdapter failed: ${String(cause)})`, {
      details: { backend: 'webgpu', source },
      cause,
    });
  }
  if (!adapter) {
    throw new LoraFuseError('BACKEND_INIT_FAILED', noAdapterMessage(source), { details: { backend: 'webgpu', source } });
  }
  owningGpu.set(adapter, gpu);

  const wanted = options.optionalFeatures ?? DEFAULT_OPTIONAL_FEATURES;
  const requiredFeatures = wanted.filter((feature) => adapter.features.has(feature));
  const requiredLimits = adapterLimits(adapter);
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: options.label ?? 'lorafuse', requiredFeatures, requiredLimits });
  } catch (cause) {
    throw new LoraFuseError('BACKEND_INIT_FAILED', `The WebGPU adapter refused to create a device: ${String(cause)}`, {
      details: { backend: 'webgpu', source, requiredFeatures, requiredLimits },
      cause,
    });
  }
  owningGpu.set(device, gpu);
  return Object.freeze({ device, adapter, info: summarizeAdapter(adapter, device), source });
}
