// Issue 9 acceptance, long runs on wasm: 2 000 training steps of a hidden-64,
// 2-layer Llama at 1 × 64 tokens keep the footprint (wasm memory + JS heap
// after GC) within 5 % of its value after step 100. scripts/soak-tiny.mjs
// runs the same check on the `tiny` config through LORAFUSE_SOAK_* variables.
import { wasmBackend, type WasmBackend } from '@lorafuse/backend-wasm';
import { describe, expect, it } from 'vitest';
import { formatSoak, runSoak, soakSettings } from './soak-harness.js';

const settings = soakSettings();

describe('soak: memory stays flat over a long training run', () => {
  it(`wasm: ${settings.steps} steps of ${settings.name} at ${settings.batch} × ${settings.tokens} tokens within 5 % of step 100`, async () => {
    const backend = (await wasmBackend().create()) as WasmBackend;
    const report = await runSoak(backend, { ...settings, deviceBytes: () => backend.memoryCapacity });
    console.log(formatSoak(`soak wasm ${settings.name}`, report));
    await backend.dispose();
    expect(report.lastLoss).toBeLessThan(report.firstLoss);
    expect(report.ratio).toBeLessThanOrEqual(1.05);
  }, 600_000);
});
