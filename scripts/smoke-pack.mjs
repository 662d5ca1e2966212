#!/usr/bin/env node
// Tarball smoke test: `npm pack` every publishable package, install the
// tarballs into three fresh projects (ESM .mjs, CommonJS .cjs and a
// TypeScript project with moduleResolution node16, type-checked by the
// repo's tsc) and use each package entry there; then install @lorafuse/cli
// alone into a fourth and run its quick demo through the installed bin. Our
// packages depend on each other; `overrides` pins those dependencies to the
// local tarballs. Third-party dependencies come from npm's cache where it has
// them (`--prefer-offline`: a fresh machine's cache holds the tarballs that
// `npm ci` fetched but not always the metadata an install asks for).
// Packages must be built first (`npm run build`).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const run = promisify(execFile);
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

// The checks each project runs. They use only the packages' public entries
// and assert results, so a broken build, a wrong exports map or a missing file
// in the tarball fails here.
const ESM_SMOKE = `
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Tensor, LoraFuseError, isLoraFuseError, referenceBackend } from '@lorafuse/core';
import { fileSource } from '@lorafuse/core/node';
import { runConformance } from '@lorafuse/core/testing';
import { requestWebGPUDevice, isFallbackAdapterInfo } from '@lorafuse/backend-webgpu';
import { wasmFeatures } from '@lorafuse/backend-wasm';
import { runCli } from '@lorafuse/cli';

const t = Tensor.f32([2, 3], [1, 2, 3, 4, 5, 6]);
assert.deepEqual([...t.shape], [2, 3]);
assert.equal(t.size, 6);
assert.equal(t.data[5], 6);
assert.throws(() => new Tensor('f32', [2, 2], new Float32Array(3)), (e) => isLoraFuseError(e, 'SHAPE_MISMATCH'));
assert.ok(isLoraFuseError(new LoraFuseError('INVALID_OPTION', 'x'), 'INVALID_OPTION'));

const dir = mkdtempSync(join(tmpdir(), 'smoke-esm-'));
writeFileSync(join(dir, 'bytes.bin'), Uint8Array.of(1, 2, 3, 4, 5));
const source = await fileSource(join(dir, 'bytes.bin'));
assert.equal(source.size, 5);
assert.deepEqual([...(await source.read(1, 3))], [2, 3, 4]);

const conformance = await runConformance(() => referenceBackend().create(), { filter: 'matmul/' });
assert.ok(conformance.passed > 0 && conformance.failed === 0, JSON.stringify(conformance.cases.filter((c) => !c.ok)));

assert.equal(isFallbackAdapterInfo({ description: 'llvmpipe: Mesa' }), true);
const noAdapter = { requestAdapter: async () => null };
await assert.rejects(requestWebGPUDevice({ gpu: noAdapter }), (e) => isLoraFuseError(e, 'BACKEND_INIT_FAILED'));
// The optional peer dependency \`webgpu\` is not installed here: the lazy
// import must fail with a typed error that says how to get it.
await assert.rejects(requestWebGPUDevice(), (e) => isLoraFuseError(e, 'BACKEND_INIT_FAILED') && /npm install webgpu/.test(e.message));

assert.equal(wasmFeatures().simd, true);

assert.equal(typeof runCli, 'function');
const help = execFileSync(join('node_modules', '.bin', 'lorafuse'), ['--help'], { encoding: 'utf8' });
assert.match(help, /Usage: lorafuse/);
// The command turns relaxed SIMD on where V8 keeps it behind a flag (Node
// 20), so its wasm backend runs the fused multiply-add build.
const bench = execFileSync(join('node_modules', '.bin', 'lorafuse'), ['bench', 'matmul', '--backend', 'wasm', '--shapes', '8x8x8', '--repeats', '1', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
assert.match(JSON.parse(bench.trim().split('\\n')[0]).device, /relaxed SIMD/);
console.log('esm checks passed');
`;

const CJS_SMOKE = `
const assert = require('node:assert/strict');
const core = require('@lorafuse/core');
const { fileSource } = require('@lorafuse/core/node');
const { runConformance } = require('@lorafuse/core/testing');
const { requestWebGPUDevice, isFallbackAdapterInfo } = require('@lorafuse/backend-webgpu');
const { wasmFeatures } = require('@lorafuse/backend-wasm');
const { runCli } = require('@lorafuse/cli');

(async () => {
  const t = core.Tensor.f32([3], [0.5, 1.5, -2]);
  assert.deepEqual(Array.from(t.toFloat32()), [0.5, 1.5, -2]);
  assert.equal(typeof fileSource, 'function');
  assert.equal(typeof runConformance, 'function');
  assert.equal(isFallbackAdapterInfo({ architecture: 'swiftshader' }), true);
  await assert.rejects(requestWebGPUDevice(), (e) => core.isLoraFuseError(e, 'BACKEND_INIT_FAILED'));
  assert.equal(wasmFeatures().simd, true);
  assert.equal(typeof runCli, 'function');

  // Dual package: an error from the CommonJS copy is recognised by the ESM copy and back.
  const esm = await import('@lorafuse/core');
  assert.notEqual(esm.LoraFuseError, core.LoraFuseError);
  assert.ok(esm.isLoraFuseError(new core.LoraFuseError('ABORTED', 'x'), 'ABORTED'));
  assert.ok(core.isLoraFuseError(new esm.LoraFuseError('ABORTED', 'x'), 'ABORTED'));
  console.log('cjs checks passed');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

const TS_INDEX = `
import { Tensor, LoraFuseError, isLoraFuseError, type ErrorCode } from '@lorafuse/core';
import { fileSource } from '@lorafuse/core/node';
import { runConformance } from '@lorafuse/core/testing';
import { requestWebGPUDevice, type WebGPUDeviceHandle } from '@lorafuse/backend-webgpu';
import { wasmFeatures, type WasmFeatures } from '@lorafuse/backend-wasm';
import { runCli } from '@lorafuse/cli';

const t: Tensor<'f32'> = Tensor.f32([2], [1, 2]);
const f32: Float32Array = t.data;
const code: ErrorCode = 'SHAPE_MISMATCH';
const known: boolean = isLoraFuseError(new LoraFuseError(code, 'x'), code);
// @ts-expect-error error codes are a closed union, not any string
new LoraFuseError('NOT_A_CODE', 'x');
const size: Promise<number> = fileSource('x').then((s) => s.size);
const device: Promise<GPUDevice> = requestWebGPUDevice().then((h: WebGPUDeviceHandle) => h.device);
const simd: WasmFeatures['simd'] = wasmFeatures().simd;
const exit: Promise<number> = runCli(['--help']);
export { f32, known, size, device, simd, exit, runConformance };
`;

// CommonJS side of the exports maps (require conditions, .d.cts types).
const TS_REQUIRE = `
import core = require('@lorafuse/core');
import webgpu = require('@lorafuse/backend-webgpu');
import wasm = require('@lorafuse/backend-wasm');
export const checks: [boolean, boolean, boolean] = [
  core.isLoraFuseError(new core.LoraFuseError('ABORTED', 'x')),
  webgpu.isFallbackAdapterInfo({ vendor: 'mesa' }),
  wasm.wasmFeatures().threads,
];
`;

// The command line as a user installs it: @lorafuse/cli alone, with what it
// depends on and without WebGPU (opt-in). The quick demo must run on wasm
// and print its comparison table; --backend webgpu must say what to install.
const CLI_SMOKE = `
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

for (const name of ['@lorafuse/backend-wasm', '@lorafuse/core', '@lorafuse/demo', '@lorafuse/plugins'])
  assert.ok(existsSync(join('node_modules', name, 'package.json')), name + ' is installed with @lorafuse/cli');
for (const name of ['@lorafuse/backend-webgpu', 'webgpu']) assert.ok(!existsSync(join('node_modules', name)), name + ' is not installed');

const lorafuse = (...args) => spawnSync(join('node_modules', '.bin', 'lorafuse'), args, { encoding: 'utf8' });
const demo = lorafuse('demo', '--quick', '--no-cache', '--out', 'demo-out');
assert.equal(demo.status, 0, demo.stderr);
assert.match(demo.stderr, /^backend: wasm \\((relaxed SIMD|SIMD128), \\d+ threads?\\)$/m);
assert.doesNotMatch(demo.stderr, /warning/);
assert.match(demo.stdout, /quick demo, seed 0, wasm backend\\./);
const methods = demo.stdout.split('\\n').slice(2).filter(Boolean).map((l) => l.split(/\\s+/)[0]);
assert.deepEqual(methods, ['base', 'target-only', 'cat-merge', 'adaptive', 'adaptive+prune'], demo.stdout);

const webgpu = lorafuse('demo', '--quick', '--no-cache', '--out', 'demo-webgpu', '--backend', 'webgpu');
assert.equal(webgpu.status, 1, webgpu.stderr);
assert.equal(webgpu.stdout, '');
assert.equal(
  webgpu.stderr,
  'lorafuse: The webgpu backend is not installed (@lorafuse/backend-webgpu cannot be imported): run \\\`npm install @lorafuse/backend-webgpu webgpu\\\`. [BACKEND_NOT_INSTALLED]\\n',
);
console.log('cli checks passed');
`;

const TS_CONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'node16',
    moduleResolution: 'node16',
    // The WebGPU types (@webgpu/types) describe browser objects and need DOM.
    lib: ['ES2022', 'DOM'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
  },
  include: ['*.ts', '*.cts'],
};

function publishablePackages() {
  const base = join(ROOT, 'packages');
  return readdirSync(base)
    .map((name) => join(base, name))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => manifest.private !== true)
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
}

async function pack(packages, destination) {
  const tarballs = {};
  for (const { dir, manifest } of packages) {
    if (!existsSync(join(dir, 'dist'))) throw new Error(`${manifest.name} is not built: run \`npm run build\` first`);
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination, ...NPM_FLAGS], { cwd: dir, maxBuffer: 16 << 20 });
    tarballs[manifest.name] = `file:${join(destination, JSON.parse(stdout)[0].filename)}`;
  }
  return tarballs;
}

function rootDevVersion(name) {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies[name];
}

async function makeProject(dir, { type, files, tarballs, dependencies = tarballs, extraDependencies = {} }) {
  mkdirSync(dir);
  const manifest = { name: `smoke-${type}`, private: true, type, dependencies: { ...dependencies, ...extraDependencies }, overrides: tarballs };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), typeof text === 'string' ? text : JSON.stringify(text, null, 2));
  await run('npm', ['install', ...NPM_FLAGS], { cwd: dir, maxBuffer: 16 << 20 });
}

async function step(label, body) {
  try {
    await body();
    console.log(`ok   ${label}`);
    return true;
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    console.log(`FAIL ${label}\n${(output || error.message).replace(/^/gm, '       ')}`);
    return false;
  }
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'lorafuse-smoke-'));
  try {
    const packages = publishablePackages();
    mkdirSync(join(work, 'tarballs'));
    let tarballs;
    const packed = await step(`npm pack: ${packages.map((p) => p.manifest.name).join(', ')}`, async () => {
      tarballs = await pack(packages, join(work, 'tarballs'));
    });
    if (!packed) return 1;

    const results = [
      await step('ESM project (.mjs): install tarballs, import every entry', async () => {
        await makeProject(join(work, 'esm'), { type: 'module', files: { 'smoke.mjs': ESM_SMOKE }, tarballs });
        await run(process.execPath, ['smoke.mjs'], { cwd: join(work, 'esm') });
      }),
      await step('CommonJS project (.cjs): install tarballs, require every entry', async () => {
        await makeProject(join(work, 'cjs'), { type: 'commonjs', files: { 'smoke.cjs': CJS_SMOKE }, tarballs });
        await run(process.execPath, ['smoke.cjs'], { cwd: join(work, 'cjs') });
      }),
      await step('TypeScript project (moduleResolution node16): type-check imports and requires', async () => {
        await makeProject(join(work, 'ts'), {
          type: 'module',
          files: { 'index.ts': TS_INDEX, 'require.cts': TS_REQUIRE, 'tsconfig.json': TS_CONFIG },
          tarballs,
          extraDependencies: { '@types/node': rootDevVersion('@types/node') },
        });
        await run(process.execPath, [TSC, '-p', '.'], { cwd: join(work, 'ts') });
      }),
      await step('CLI project: @lorafuse/cli alone, `lorafuse demo --quick` on wasm, `--backend webgpu` says what to install', async () => {
        const dependencies = { '@lorafuse/cli': tarballs['@lorafuse/cli'] };
        await makeProject(join(work, 'cli'), { type: 'module', files: { 'smoke.mjs': CLI_SMOKE }, tarballs, dependencies });
        await run(process.execPath, ['smoke.mjs'], { cwd: join(work, 'cli'), maxBuffer: 16 << 20 });
      }),
    ];
    const failed = results.filter((ok) => !ok).length;
    console.log(failed === 0 ? 'smoke-pack passed' : `smoke-pack failed: ${failed} of ${results.length} projects`);
    return failed === 0 ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`smoke-pack crashed: ${error.stack ?? error}`);
    process.exit(1);
  },
);
