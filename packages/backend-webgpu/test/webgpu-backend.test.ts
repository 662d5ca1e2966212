/// <reference types="@webgpu/types" />
import { afterAll, describe, expect, it } from 'vitest';
import { BACKEND_PRIORITIES, BackendRegistry, Tensor, isLoraFuseError, referenceBackend, type Backend, type DeviceTensor } from '@lorafuse/core';
import { BufferPool, bucketSize } from '../src/gpu/buffer-pool.js';
import { requestWebGPUDevice, type WebGPUDeviceHandle } from '../src/device.js';
import { WebGPUBackend, webgpuBackend } from '../src/webgpu-backend.js';
import { acquireDawnDevice } from './acquire-device.js';

const handle = await acquireDawnDevice('WebGPU backend tests');
afterAll(() => handle?.device.destroy());

/** Counts the buffers a device creates and destroys, independently of the backend's own bookkeeping. */
function countBuffers(device: GPUDevice): { readonly created: number; readonly live: number } {
  const counts = { created: 0, live: 0 };
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    counts.created++;
    counts.live++;
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      counts.live--;
      destroy();
    };
    return buffer;
  };
  return counts;
}

/**
 * One LoRA training step of a toy layer: forward, cross-entropy, the LoRA
 * gradients, clipping statistics and AdamW on A and B; returns the loss. With
 * `leak`, one intermediate tensor per step is never freed.
 */
async function trainingStep(
  backend: Backend,
  state: Record<'x' | 'w0' | 'a' | 'b' | 'ma' | 'va' | 'mb' | 'vb' | 'targets', DeviceTensor>,
  step: number,
  leak = false,
): Promise<number> {
  const k = backend.kernels;
  const made: DeviceTensor[] = [];
  const keep = <T extends DeviceTensor>(t: T) => {
    made.push(t);
    return t;
  };
  const logits = keep(k.loraLinear(state.x, state.w0, state.a, state.b, 2));
  const { loss, lse } = k.crossEntropy(logits, state.targets);
  keep(loss);
  keep(lse);
  const dLogits = keep(k.crossEntropyBackward(logits, state.targets, lse, 1));
  const low = keep(k.matmul(state.x, state.a, { transB: true }));
  const dB = keep(k.scale(keep(k.matmul(dLogits, low, { transA: true })), 2));
  const dLow = keep(k.matmul(dLogits, state.b));
  const dA = keep(k.scale(keep(k.matmul(dLow, state.x, { transA: true })), 2));
  keep(k.globalNorm([dA, dB]));
  k.adamwStep(state.a, dA, state.ma, state.va, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step });
  k.adamwStep(state.b, dB, state.mb, state.vb, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step });
  const value = (await backend.read(loss)).data[0] as number;
  for (const t of leak ? made.slice(1) : made) backend.free(t);
  return value;
}

function initialState(backend: Backend): Parameters<typeof trainingStep>[1] {
  const f = (shape: number[], seed: number) =>
    new Tensor(
      'f32',
      shape,
      Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 0.5),
    );
  const zeros = (shape: number[]) => new Tensor('f32', shape);
  return {
    x: backend.upload(f([6, 16], 1)),
    w0: backend.upload(f([10, 16], 2).castFloat('bf16')),
    a: backend.upload(f([4, 16], 3)),
    b: backend.upload(f([10, 4], 4)),
    ma: backend.upload(zeros([4, 16])),
    va: backend.upload(zeros([4, 16])),
    mb: backend.upload(zeros([10, 4])),
    vb: backend.upload(zeros([10, 4])),
    targets: backend.upload(new Tensor('i32', [6], Int32Array.of(1, 3, -100, 9, 0, 4))),
  };
}

describe('bucketSize', () => {
  it('rounds small requests to powers of two and large ones to eighths of an octave', () => {
    expect([0, 1, 16, 17, 1000, 1024, 1025].map(bucketSize)).toEqual([16, 16, 16, 32, 1024, 1024, 2048]);
    expect(bucketSize(1_048_577)).toBe(1_048_576 + 131_072);
    expect(bucketSize(5_000_000)).toBe(5_242_880);
  });
});

describe('BufferPool', () => {
  const fakeDevice = (created: GPUBufferDescriptor[]) =>
    ({
      limits: { maxBufferSize: 1 << 20, maxStorageBufferBindingSize: 1000 },
      createBuffer: (d: GPUBufferDescriptor) => {
        created.push(d);
        return { size: d.size, usage: d.usage, destroy() {} };
      },
    }) as unknown as GPUDevice;

  it('reuses a released buffer of the same bucket only after recycle', () => {
    const created: GPUBufferDescriptor[] = [];
    const pool = new BufferPool(fakeDevice(created));
    const first = pool.acquire(100, 0x80);
    pool.release(first);
    expect(pool.acquire(120, 0x80)).not.toBe(first);
    pool.recycle();
    expect(pool.acquire(128, 0x80)).toBe(first);
    expect(created.map((d) => d.size)).toEqual([128, 128]);
  });

  it('hands out free buffers oldest first whatever order they were freed in, so a loop binds the same buffers every step', () => {
    const pool = new BufferPool(fakeDevice([]));
    const buffers = [0, 1, 2, 3].map(() => pool.acquire(64, 0x80));
    const servedAfter = (releaseOrder: number[]) => {
      for (const i of releaseOrder) pool.release(buffers[i]);
      pool.recycle();
      return [0, 1, 2, 3].map(() => buffers.indexOf(pool.acquire(64, 0x80)));
    };
    expect(servedAfter([2, 0, 3, 1])).toEqual([0, 1, 2, 3]);
    expect(servedAfter([3, 2, 1, 0])).toEqual([0, 1, 2, 3]);
  });

  it('serves sizes near the binding limit exactly and refuses larger ones with OUT_OF_MEMORY', () => {
    const created: GPUBufferDescriptor[] = [];
    const pool = new BufferPool(fakeDevice(created));
    pool.acquire(990, 0x80);
    expect(created[0].size).toBe(992);
    let error: unknown;
    try {
      pool.acquire(1001, 0x80);
    } catch (e) {
      error = e;
    }
    expect(isLoraFuseError(error, 'OUT_OF_MEMORY')).toBe(true);
  });
});

describe.skipIf(!handle)('WebGPU backend on Dawn', () => {
  const device = (): WebGPUDeviceHandle => handle as WebGPUDeviceHandle;

  it('registers as webgpu with its priority, and auto skips it on a CPU adapter', async () => {
    const factory = webgpuBackend({ handle: device() });
    expect(factory.name).toBe('webgpu');
    expect(factory.priority).toBe(BACKEND_PRIORITIES.webgpu);
    const backend = await factory.create();
    expect(backend.isFallback).toBe(device().info.isFallback);
    expect(backend.description).toContain(device().info.vendor);
    await backend.dispose();

    const registry = new BackendRegistry();
    registry.register(factory);
    registry.register(referenceBackend());
    const chosen = await registry.create('auto');
    expect(chosen.name).toBe(device().info.isFallback ? 'reference' : 'webgpu');
    await chosen.dispose();
  });

  it('creates no GPU buffer in 1,000 identical training steps after warm-up; a leaking loop is caught', async () => {
    const counts = countBuffers(device().device);
    const backend = await webgpuBackend({ handle: device() }).create();
    const state = initialState(backend);
    const losses: number[] = [];
    for (let step = 1; step <= 5; step++) losses.push(await trainingStep(backend, state, step));
    const warm = counts.created;
    for (let step = 6; step <= 1005; step++) losses.push(await trainingStep(backend, state, step));
    expect(counts.created - warm).toBe(0);
    // The steps do train: the loss goes down.
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);

    const before = counts.created;
    for (let step = 1006; step <= 1055; step++) await trainingStep(backend, state, step, true);
    // One tensor a step is never freed; spare pooled buffers absorb only the first few.
    expect(counts.created - before).toBeGreaterThan(40);

    const liveBeforeDispose = counts.live;
    await backend.dispose();
    expect(liveBeforeDispose).toBeGreaterThan(0);
    expect(counts.live).toBe(0);
  });

  it('turns a lost device into DEVICE_LOST and marks itself disposed', async () => {
    const own = await requestWebGPUDevice();
    const backend = new WebGPUBackend(own, true);
    const x = backend.upload(Tensor.f32([3], [1, 2, 3]));
    expect(Array.from((await backend.read(backend.kernels.scale(x, 2))).data as Float32Array)).toEqual([2, 4, 6]);
    own.device.destroy();
    await own.device.lost;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(backend.disposed).toBe(true);
    const calls: (() => unknown)[] = [() => backend.kernels.scale(x, 2), () => backend.upload(Tensor.f32([1], [1])), () => backend.read(x)];
    for (const call of calls) {
      const error = await Promise.resolve()
        .then(call)
        .catch((e: unknown) => e);
      expect(isLoraFuseError(error, 'DEVICE_LOST'), String(error)).toBe(true);
    }
    await backend.dispose();
  });
});
