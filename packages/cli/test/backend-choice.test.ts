// Which backend the CLI runs on, and what it says about it: the line `auto`
// prints, the warning when `auto` ends on the float64 reference backend, and
// the error for a backend whose packages are not installed. Installs without
// a package are stood in for by the module importer `cliRuntime` takes; the
// packed-tarball smoke test (scripts/smoke-pack.mjs) checks the same on a
// real install without @lorafuse/backend-webgpu.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKEND_PRIORITIES, isLoraFuseError, LoraFuseError, type BackendFactory } from '@lorafuse/core';
import { useCliBackend } from '../src/backend-choice.js';
import { importModule, type ModuleImporter } from '../src/backend-packages.js';
import { cliPlugins, cliRuntime } from '../src/runtime.js';
import { captureIO, cli } from './cli-helpers.js';

const ADAPTER = join(import.meta.dirname, '../../core/test/fixtures/merge/adapters/eq0');
const dir = await mkdtemp(join(tmpdir(), 'lorafuse-backend-choice-'));

/** An importer for an install where `missing` cannot be imported (as Node says it) and the others come from this workspace. */
function installWithout(missing: readonly string[], replaced: Record<string, Record<string, unknown>> = {}): ModuleImporter {
  return async (specifier) => {
    if (missing.includes(specifier))
      throw Object.assign(new Error(`Cannot find package '${specifier}' imported from ${dir}`), { code: 'ERR_MODULE_NOT_FOUND' });
    return replaced[specifier] ?? importModule(specifier);
  };
}

/** A wasm package whose backend fails to initialise, as on an engine without WebAssembly SIMD. */
const brokenWasm = {
  wasmBackend: (): BackendFactory => ({
    name: 'wasm',
    priority: BACKEND_PRIORITIES.wasm,
    create: () => Promise.reject(new LoraFuseError('BACKEND_INIT_FAILED', 'WebAssembly SIMD128 is not supported by this engine.')),
  }),
};

const WEBGPU_INSTALL = '`npm install @lorafuse/backend-webgpu webgpu`';

describe('--backend auto', () => {
  const prune = (...extra: string[]) => cli('prune', ADAPTER, '--metric', 'magnitude', '--ratio', '0.5', '--out', join(dir, 'pruned'), ...extra);

  it('says on stderr, in one line, which backend it picked, and it is not the reference backend', async () => {
    const r = await prune('--json');
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out);
    const lines = r.err.split('\n').filter((l) => l.startsWith('backend: '));
    expect(lines).toHaveLength(1);
    // The line names the backend the command reports it ran on, with its build.
    expect(lines[0]).toMatch(new RegExp(`^backend: ${summary.backend}\\b`));
    expect(lines[0]).toMatch(/^backend: (wasm \((relaxed SIMD|SIMD128), \d+ threads?\)|webgpu .+)$/);
    expect(r.err).not.toMatch(/warning/);
  });

  it('prints nothing about the backend with --quiet, or for a backend asked for by name', async () => {
    const quiet = await prune('--quiet');
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.err).not.toMatch(/backend/);
    const named = await prune('--backend', 'wasm', '--json');
    expect(named.code, named.err).toBe(0);
    expect(named.err).toBe('');
    expect(JSON.parse(named.out).backend).toBe('wasm');
  });

  it('warns, naming every backend it tried and why, when it falls back to the reference backend', async () => {
    const runtime = await cliRuntime(cliPlugins(), installWithout(['@lorafuse/backend-webgpu'], { '@lorafuse/backend-wasm': brokenWasm }));
    const { io, text } = captureIO();
    try {
      const backend = await useCliBackend(runtime, {}, io);
      expect(backend.name).toBe('reference');
      expect(runtime.backend).toBe(backend);
    } finally {
      await runtime.dispose();
    }
    expect(text.out).toBe('');
    expect(text.err.split('\n')).toEqual([
      'backend: reference (plain TypeScript, float64 accumulation)',
      'lorafuse: warning: --backend auto fell back to the float64 reference backend, which is many times slower. Tried:',
      `  webgpu failed: The webgpu backend is not installed (@lorafuse/backend-webgpu cannot be imported): run ${WEBGPU_INSTALL}.`,
      '  wasm failed: WebAssembly SIMD128 is not supported by this engine.',
      '  Fix one of these to run faster, or pass --backend reference to use the reference backend on purpose.',
      '',
    ]);
  });

  it('warns even with --quiet, which drops only the backend line; --backend reference is not warned about', async () => {
    const runtime = await cliRuntime(cliPlugins(), installWithout(['webgpu', '@lorafuse/backend-wasm']));
    try {
      const quiet = captureIO();
      await useCliBackend(runtime, { quiet: true }, quiet.io);
      expect(quiet.text.err).toMatch(/^lorafuse: warning: --backend auto fell back to the float64 reference backend/);
      expect(quiet.text.err).toContain(`webgpu failed: The webgpu backend is not installed (webgpu cannot be imported): run ${WEBGPU_INSTALL}.`);
      expect(quiet.text.err).toContain(
        'wasm failed: The wasm backend is not installed (@lorafuse/backend-wasm cannot be imported): run `npm install @lorafuse/backend-wasm`.',
      );
      const named = captureIO();
      expect((await useCliBackend(runtime, { backend: 'reference' }, named.io)).name).toBe('reference');
      expect(named.text.err).toBe('');
    } finally {
      await runtime.dispose();
    }
  });
});

describe('--backend webgpu without its packages', () => {
  it.each([['@lorafuse/backend-webgpu'], ['webgpu']])(
    'throws BACKEND_NOT_INSTALLED, in one line that says what to install, when %s is missing',
    async (missing) => {
      const runtime = await cliRuntime(cliPlugins(), installWithout([missing]));
      const { io, text } = captureIO();
      try {
        const error = await useCliBackend(runtime, { backend: 'webgpu' }, io).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isLoraFuseError(error, 'BACKEND_NOT_INSTALLED'), String(error)).toBe(true);
        const { message } = error as LoraFuseError;
        expect(message).toBe(`The webgpu backend is not installed (${missing} cannot be imported): run ${WEBGPU_INSTALL}.`);
        expect((error as Error).cause).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
      } finally {
        await runtime.dispose();
      }
      expect(text.err + text.out).toBe('');
      // The other backends stay usable.
      expect(runtime.backends.names()).toEqual(['webgpu', 'wasm', 'reference']);
    },
  );
});
