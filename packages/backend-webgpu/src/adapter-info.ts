/// <reference types="@webgpu/types" />

/** What LoRAFuse reports about the adapter a device was created on. */
export interface WebGPUAdapterSummary {
  /** Adapter vendor (`GPUAdapterInfo.vendor`), e.g. `mesa`, `google`, `nvidia`; may be empty. */
  readonly vendor: string;
  /** Adapter architecture, e.g. `software`, `swiftshader`, `ampere`; may be empty. */
  readonly architecture: string;
  /** Adapter device name, e.g. `llvmpipe-…`; may be empty. */
  readonly device: string;
  /** Driver description, e.g. `llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)`; may be empty. */
  readonly description: string;
  /**
   * True for CPU/fallback adapters (Mesa llvmpipe/lavapipe, SwiftShader,
   * WARP). WGSL runs slower there than SIMD-WASM, so backend selection by
   * `auto` skips them; they are used only when asked for by name.
   */
  readonly isFallback: boolean;
  /** The optional features enabled on the device, sorted. */
  readonly features: readonly string[];
}

/** The adapter description fields {@link isFallbackAdapterInfo} looks at. */
export interface AdapterIdentity {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  /** `GPUAdapterInfo.isFallbackAdapter` (current spec) or `GPUAdapter.isFallbackAdapter` (older). */
  readonly isFallbackAdapter?: boolean;
}

// Implementations do not all set isFallbackAdapter for software rasterisers
// (older Dawn and Chromium builds leave it unset on llvmpipe and SwiftShader),
// so the names they report are checked too.
const SOFTWARE_ADAPTER_NAME = /llvmpipe|lavapipe|swiftshader|microsoft basic render driver/i;

/**
 * True when the adapter is a CPU/fallback one: flagged `isFallbackAdapter`,
 * or named after a known software rasteriser (llvmpipe, lavapipe,
 * SwiftShader, WARP) in any of its info fields.
 */
export function isFallbackAdapterInfo(identity: AdapterIdentity): boolean {
  if (identity.isFallbackAdapter === true) return true;
  const names = [identity.vendor, identity.architecture, identity.device, identity.description];
  return names.some((name) => typeof name === 'string' && SOFTWARE_ADAPTER_NAME.test(name));
}

/** Summarises an adapter and the device created on it. */
export function summarizeAdapter(adapter: GPUAdapter, device: GPUDevice): WebGPUAdapterSummary {
  // GPUAdapterInfo fields are prototype getters, so they are read one by one
  // (a spread would copy nothing).
  const info: Partial<GPUAdapterInfo> = adapter.info ?? {};
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const deviceName = info.device ?? '';
  const description = info.description ?? '';
  const flagged = info.isFallbackAdapter === true || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return Object.freeze({
    vendor,
    architecture,
    device: deviceName,
    description,
    isFallback: isFallbackAdapterInfo({ vendor, architecture, device: deviceName, description, isFallbackAdapter: flagged }),
    features: Object.freeze([...device.features].sort()),
  });
}
