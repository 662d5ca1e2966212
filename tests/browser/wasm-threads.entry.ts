import { Tensor } from '@lorafuse/core';
import { WasmBackend, wasmBackend, wasmFeatures } from '@lorafuse/backend-wasm';
import { runConformance, type ConformanceCaseResult } from '@lorafuse/core/testing';
import { assert, budgetMs, check, recordCase, runEntry } from './report.js';

// The wasm backend with 2 threads (a Web Worker beside the page's main
// thread, sharing one WebAssembly.Memory) in a cross-origin isolated page.
// The main thread of a window may not Atomics.wait, so it spins while the
// worker finishes its share. Every matmul, attention and dropout call is
// split (minParallelWork 0), so the suite's small shapes take the thread
// paths; dropout's parts continue the mask's counter in the worker.
const SPLIT_KERNELS = /^(matmul|loraLinear|attention|attentionBackward|dropout|memory)\//;
const REPORTING_MARGIN_MS = 5_000;

/** Deterministic values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

async function product(threads: number): Promise<Uint8Array> {
  const backend = await WasmBackend.create({ simd: 'plain', threads, minParallelWork: 0 });
  try {
    const a = backend.upload(new Tensor('f32', [67, 300], values(67 * 300, 1)));
    const b = backend.upload(new Tensor('f32', [300, 203], values(300 * 203, 2)));
    const { data } = backend.readSync(backend.kernels.matmul(a, b));
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } finally {
    await backend.dispose();
  }
}

await runEntry('wasm-threads', async () => {
  await check('shared memory is available (cross-origin isolated, WebAssembly threads)', () => {
    assert(crossOriginIsolated && wasmFeatures().threads, `crossOriginIsolated ${crossOriginIsolated}, features ${JSON.stringify(wasmFeatures())}`);
  });
  await check('matmul with 2 threads is bit-identical to 1 thread', async () => {
    const [one, two] = [await product(1), await product(2)];
    assert(one.length === two.length && one.every((byte, i) => byte === two[i]), 'the 2-thread product differs from the 1-thread product');
  });
  const factory = wasmBackend({ simd: 'plain', threads: 2, minParallelWork: 0 });
  const toCase = (c: ConformanceCaseResult) => ({ name: `wasm 2 threads: ${c.name}`, status: c.status, ms: c.ms, ...(c.error ? { error: c.error } : {}) });
  const report = await runConformance(() => factory.create(), {
    filter: SPLIT_KERNELS,
    timeBudgetMs: Math.min(budgetMs(60_000), 60_000) - REPORTING_MARGIN_MS,
    onCase: (c) => recordCase(toCase(c)),
  });
  for (const c of report.cases) if (c.status === 'skipped') recordCase(toCase(c));
  await check('the conformance backend runs on 2 threads', () => {
    assert(report.description.includes('2 threads'), `description: ${report.description}`);
  });
});
