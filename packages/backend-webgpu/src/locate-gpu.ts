/// <reference types="@webgpu/types" />
import { LoraFuseError } from '@lorafuse/core';

/** Where the `GPU` object a device was requested from came from. */
export type GpuSource = 'navigator' | 'dawn' | 'provided';

/** The part of the npm `webgpu` package (Dawn) this module uses. */
interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

// Held in a variable so that bundlers (esbuild, Vite, webpack) cannot follow
// the import: a browser bundle must never pull in Dawn's native addon.
const DAWN_PACKAGE = 'webgpu';

function runsInNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/**
 * Finds a WebGPU entry point: `navigator.gpu` in browsers and workers, else,
 * under Node, a Dawn instance from the optional peer dependency `webgpu`.
 * Throws `BACKEND_INIT_FAILED` with the way to get one when neither exists.
 */
export async function locateGpu(dawnOptions: readonly string[]): Promise<{ gpu: GPU; source: GpuSource }> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (gpu) return { gpu, source: 'navigator' };
  if (runsInNode()) return { gpu: await createDawnGpu(dawnOptions), source: 'dawn' };
  throw new LoraFuseError(
    'BACKEND_INIT_FAILED',
    'WebGPU is not available: navigator.gpu is missing. It needs a secure context (https or localhost) and a browser with WebGPU enabled; Chromium on Linux needs --enable-unsafe-webgpu.',
    { details: { backend: 'webgpu' } },
  );
}

async function createDawnGpu(dawnOptions: readonly string[]): Promise<GPU> {
  let dawn: DawnModule;
  try {
    dawn = (await import(/* @vite-ignore */ /* webpackIgnore: true */ DAWN_PACKAGE)) as DawnModule;
  } catch (cause) {
    throw new LoraFuseError('BACKEND_INIT_FAILED', 'WebGPU in Node needs the optional peer dependency `webgpu` (Dawn): run `npm install webgpu`.', {
      details: { backend: 'webgpu' },
      cause,
    });
  }
  // Code written for browsers uses the WebGPU constants (GPUBufferUsage,
  // GPUMapMode, GPUShaderStage...) as globals; Node has none of them. Names
  // that already exist are left alone.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  }
  return dawn.create([...dawnOptions]);
}
