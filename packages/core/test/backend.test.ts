import { describe, expect, it } from 'vitest';
import {
  BACKEND_PRIORITIES,
  BackendRegistry,
  DeviceTensorTable,
  LoraFuseError,
  PluginRegistry,
  ReferenceBackend,
  Runtime,
  Tensor,
  isLoraFuseError,
  type Backend,
  type BackendAttempt,
  type BackendFactory,
} from '@lorafuse/core';
import { asyncCodeOf as codeOf } from './error-code.js';

async function errorOf(fn: () => unknown): Promise<LoraFuseError> {
  try {
    await fn();
  } catch (e) {
    if (isLoraFuseError(e)) return e;
    throw e;
  }
  throw new Error('expected a LoraFuseError');
}

/** A stand-in backend: the reference's memory and kernels under another name, recording its disposal. */
function fakeBackend(name: string, isFallback: boolean, log: string[]): Backend {
  const ref = new ReferenceBackend();
  return {
    name,
    isFallback,
    description: isFallback ? `${name} on llvmpipe` : name,
    get disposed() {
      return ref.disposed;
    },
    kernels: ref.kernels,
    upload: (t) => ref.upload(t),
    read: (t) => ref.read(t),
    free: (t) => ref.free(t),
    sync: () => ref.sync(),
    memory: () => ref.memory(),
    dispose: async () => {
      log.push(`dispose ${name}`);
      await ref.dispose();
    },
  };
}

function factory(name: string, priority: number, log: string[], behaviour: 'ok' | 'fallback' | 'fails' = 'ok'): BackendFactory {
  return {
    name,
    priority,
    create: async () => {
      log.push(`create ${name}`);
      if (behaviour === 'fails') throw new LoraFuseError('DEVICE_LOST', `${name}: no adapter found`);
      return fakeBackend(name, behaviour === 'fallback', log);
    },
  };
}

describe('BackendRegistry', () => {
  it('tries backends by priority (ties in registration order) and returns the first that initialises', async () => {
    const log: string[] = [];
    const reg = new BackendRegistry();
    reg.register(factory('reference', BACKEND_PRIORITIES.reference, log));
    reg.register(factory('wasm', BACKEND_PRIORITIES.wasm, log));
    reg.register(factory('wasm-copy', BACKEND_PRIORITIES.wasm, log));
    reg.register(factory('webgpu', BACKEND_PRIORITIES.webgpu, log, 'fails'));
    expect(reg.names()).toEqual(['webgpu', 'wasm', 'wasm-copy', 'reference']);
    const backend = await reg.create('auto');
    expect(backend.name).toBe('wasm');
    expect(log).toEqual(['create webgpu', 'create wasm']);
    expect((await reg.create()).name).toBe('wasm');
  });

  it('skips a backend on a CPU/fallback adapter in auto, disposing it, but gives it when asked by name', async () => {
    const log: string[] = [];
    const reg = new BackendRegistry();
    reg.register(factory('webgpu', 300, log, 'fallback'));
    reg.register(factory('reference', 100, log));
    expect((await reg.create('auto')).name).toBe('reference');
    expect(log).toEqual(['create webgpu', 'dispose webgpu', 'create reference']);
    const named = await reg.create('webgpu');
    expect(named.name).toBe('webgpu');
    expect(named.isFallback).toBe(true);
    expect(named.disposed).toBe(false);
  });

  it('says what auto passed over before the backend it picked, and nothing for a named one', async () => {
    const log: string[] = [];
    const reg = new BackendRegistry();
    reg.register(factory('webgpu', 300, log, 'fallback'));
    reg.register(factory('wasm', 200, log, 'fails'));
    reg.register(factory('reference', 100, log));
    const { backend, attempts } = await reg.select('auto');
    expect(backend.name).toBe('reference');
    expect(attempts).toEqual([
      { name: 'webgpu', outcome: 'skipped', reason: 'runs on a CPU/fallback device (webgpu on llvmpipe); ask for it by name to use it' },
      { name: 'wasm', outcome: 'failed', reason: 'wasm: no adapter found', code: 'DEVICE_LOST' },
    ]);
    const named = await reg.select('webgpu');
    expect([named.backend.name, named.attempts]).toEqual(['webgpu', []]);
  });

  it('lists every attempt and why when auto finds nothing', async () => {
    const log: string[] = [];
    const reg = new BackendRegistry();
    reg.register(factory('webgpu', 300, log, 'fallback'));
    reg.register(factory('wasm', 200, log, 'fails'));
    const e = await errorOf(() => reg.create('auto'));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toMatch(/webgpu skipped: runs on a CPU\/fallback device \(webgpu on llvmpipe\)/);
    expect(e.message).toMatch(/wasm failed: wasm: no adapter found/);
    const attempts = e.details.attempts as BackendAttempt[];
    expect(attempts.map((a) => [a.name, a.outcome, a.code])).toEqual([
      ['webgpu', 'skipped', undefined],
      ['wasm', 'failed', 'DEVICE_LOST'],
    ]);
    expect(await errorOf(() => new BackendRegistry().create('auto'))).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringMatching(/No backend is registered/),
    });
  });

  it('reports unknown names and failed named initialisation with their codes', async () => {
    const log: string[] = [];
    const reg = new BackendRegistry();
    reg.register(factory('wasm', 200, log, 'fails'));
    reg.register(factory('reference', 100, log));
    const missing = await errorOf(() => reg.create('webgpu'));
    expect(missing.code).toBe('BACKEND_NOT_FOUND');
    expect(missing.details.registered).toEqual(['wasm', 'reference']);
    const failed = await errorOf(() => reg.create('wasm'));
    expect(failed.code).toBe('BACKEND_INIT_FAILED');
    expect(failed.message).toMatch(/no adapter found/);
    expect(isLoraFuseError(failed.cause, 'DEVICE_LOST')).toBe(true);
  });

  it('refuses duplicate names and malformed factories', async () => {
    const log: string[] = [];
    const reg = new BackendRegistry();
    reg.register(factory('wasm', 200, log));
    expect(await codeOf(() => reg.register(factory('wasm', 1, log)))).toBe('BACKEND_DUPLICATE');
    expect(await codeOf(() => reg.register(factory('auto', 1, log)))).toBe('INVALID_OPTION');
    expect(await codeOf(() => reg.register({ name: 'x', priority: NaN, create: async () => fakeBackend('x', false, log) }))).toBe('INVALID_OPTION');
    expect(await codeOf(() => reg.register({ name: 'x', priority: 1 } as never))).toBe('INVALID_OPTION');
    expect(reg.has('wasm') && !reg.has('x')).toBe(true);
  });
});

describe('Runtime', () => {
  it('owns a registry with the reference backend, and the active backend', async () => {
    const runtime = new Runtime();
    expect(await codeOf(() => runtime.backend)).toBe('BACKEND_NOT_SELECTED');
    expect(runtime.backends.names()).toEqual(['reference']);
    const backend = await runtime.useBackend();
    expect(backend.name).toBe('reference');
    expect(runtime.backend).toBe(backend);
    expect(runtime.plugins).toBeInstanceOf(PluginRegistry);
    await runtime.dispose();
    expect(backend.disposed).toBe(true);
    expect(await codeOf(() => runtime.backend)).toBe('BACKEND_NOT_SELECTED');
  });

  it('switches backends, disposing the old one, and keeps it when the switch fails', async () => {
    const log: string[] = [];
    const runtime = new Runtime({ backends: [factory('wasm', 200, log), factory('broken', 50, log, 'fails')] });
    const wasm = await runtime.useBackend('auto');
    expect(wasm.name).toBe('wasm');
    const reference = await runtime.useBackend('reference');
    expect(wasm.disposed).toBe(true);
    expect(runtime.backend).toBe(reference);
    expect(await codeOf(() => runtime.useBackend('broken'))).toBe('BACKEND_INIT_FAILED');
    expect(runtime.backend).toBe(reference);
    expect(reference.disposed).toBe(false);
  });

  it('selectBackend makes the backend active and returns what auto passed over', async () => {
    const log: string[] = [];
    const runtime = new Runtime({ backends: [factory('wasm', 200, log, 'fails')] });
    const { backend, attempts } = await runtime.selectBackend();
    expect(runtime.backend).toBe(backend);
    expect(backend.name).toBe('reference');
    expect(attempts.map((a) => [a.name, a.outcome, a.code])).toEqual([['wasm', 'failed', 'DEVICE_LOST']]);
    await runtime.dispose();
  });

  it('keeps runtimes independent and can share a plugin registry', () => {
    const plugins = new PluginRegistry();
    const a = new Runtime({ plugins });
    const b = new Runtime();
    a.backends.register(factory('wasm', 200, []));
    expect(a.backends.has('wasm')).toBe(true);
    expect(b.backends.has('wasm')).toBe(false);
    expect(a.plugins).toBe(plugins);
    expect(b.plugins).not.toBe(plugins);
    expect(() => new Runtime({ backends: [factory('reference', 1, [])] })).toThrow(expect.objectContaining({ code: 'BACKEND_DUPLICATE' }));
  });
});

describe('device tensor life cycle (reference backend)', () => {
  it('refuses freed and foreign tensors with TENSOR_DISPOSED', async () => {
    const a = new ReferenceBackend();
    const b = new ReferenceBackend();
    const t = a.upload(Tensor.f32([2], [1, 2]));
    const foreign = b.upload(Tensor.f32([2], [1, 2]));
    expect(await codeOf(() => a.kernels.add(t, foreign))).toBe('TENSOR_DISPOSED');
    expect(await codeOf(() => a.read(foreign))).toBe('TENSOR_DISPOSED');
    expect(await codeOf(() => a.read({ shape: [2], dtype: 'f32', size: 2, backend: 'reference' }))).toBe('TENSOR_DISPOSED');
    a.free(t);
    expect(await codeOf(() => a.read(t))).toBe('TENSOR_DISPOSED');
    expect(await codeOf(() => a.kernels.scale(t, 1))).toBe('TENSOR_DISPOSED');
    expect(await codeOf(() => a.free(t))).toBe('TENSOR_DISPOSED');
  });

  it('refuses everything after dispose with BACKEND_DISPOSED, and dispose is idempotent', async () => {
    const backend = new ReferenceBackend();
    const t = backend.upload(Tensor.f32([1], [1]));
    await backend.dispose();
    await backend.dispose();
    expect(backend.disposed).toBe(true);
    for (const call of [
      () => backend.upload(Tensor.f32([1], [1])),
      () => backend.read(t),
      () => backend.free(t),
      () => backend.kernels.sum(t),
      () => backend.sync(),
    ]) {
      expect(await codeOf(call)).toBe('BACKEND_DISPOSED');
    }
  });

  it('copies on upload and on read, counts live memory and refuses host-only dtypes', async () => {
    const backend = new ReferenceBackend();
    const host = Tensor.f32([3], [1, 2, 3]);
    const t = backend.upload(host);
    host.data[0] = 9;
    const back = await backend.read(t);
    back.data[1] = 9;
    expect([...(await backend.read(t)).data]).toEqual([1, 2, 3]);
    expect(t).toMatchObject({ shape: [3], dtype: 'f32', size: 3, backend: 'reference' });
    expect(Object.isFrozen(t)).toBe(true);
    const ids = backend.upload(new Tensor('i32', [4]));
    expect(backend.memory()).toEqual({ tensors: 2, bytes: 12 + 16 });
    backend.free(ids);
    expect(backend.memory()).toEqual({ tensors: 1, bytes: 12 });
    expect(await codeOf(() => backend.upload(new Tensor('i64', [2])))).toBe('UNSUPPORTED_DTYPE');
    expect(await codeOf(() => backend.upload(new Tensor('bool', [2])))).toBe('UNSUPPORTED_DTYPE');
  });

  it('DeviceTensorTable returns what is still live when closed', () => {
    const table = new DeviceTensorTable<string>('test');
    const a = table.add([2], 'f32', 'buffer-a');
    table.add([], 'u8', 'buffer-b');
    expect(table.get(a)).toBe('buffer-a');
    expect(table.remove(a)).toBe('buffer-a');
    expect(table.count).toBe(1);
    expect(table.close()).toEqual(['buffer-b']);
    expect(table.closed).toBe(true);
    expect(() => table.add([1], 'f32', 'c')).toThrow(expect.objectContaining({ code: 'BACKEND_DISPOSED' }));
  });
});
