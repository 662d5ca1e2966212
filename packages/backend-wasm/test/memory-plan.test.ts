// The memory plan against the wasm arena's own high-water mark, on real
// model shapes (SmolLM2-135M and -360M, random bf16 weights): one LoRA
// training step of a target and related adapters, with 2 threads. The plan
// runs the same passes on a backend that only counts bytes, with the
// scratch of the wasm kernels, so it must bound the measured peak tightly.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  IGNORE_TARGET,
  Tensor,
  expectedModelWeights,
  initLoraAdapter,
  parseModelConfig,
  planTraining,
  train,
  uploadAdapter,
  type Backend,
  type DeviceTensor,
  type ModelConfig,
} from '@lorafuse/core';
import { MODEL_SHAPES } from '../../cli/src/bench/model-shapes.js';
import { WasmBackend } from '../src/index.js';

/** A model of `config` with random bf16 matrices, uploaded one tensor at a time (no host copy of the whole model). */
export function randomBf16Model(backend: Backend, config: ModelConfig, seed = 1): CausalLM {
  let state = seed >>> 0;
  const weights = new Map<string, DeviceTensor>();
  for (const { name, shape } of expectedModelWeights(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (shape.length === 1) {
      weights.set(name, backend.upload(new Tensor('f32', shape, new Float32Array(size).fill(name.endsWith('norm.weight') ? 1 : 0))));
      continue;
    }
    // ±[2⁻⁷, 2⁻⁶): small random values, as bf16 bit patterns from an LCG.
    const bits = new Uint16Array(size);
    for (let i = 0; i < size; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      bits[i] = ((state >>> 31) << 15) | 0x3c00 | ((state >>> 8) & 0x7f);
    }
    weights.set(name, backend.upload(new Tensor('bf16', shape, bits)));
  }
  return CausalLM.fromDeviceWeights(backend, config, weights);
}

const cases = [
  { shape: 'smol', batch: 1, seq: 64, adapters: 1, checkpointing: 'none' },
  { shape: 'smol', batch: 2, seq: 48, adapters: 5, checkpointing: 'none' },
  { shape: 'smol', batch: 2, seq: 48, adapters: 5, checkpointing: 'layers' },
  { shape: 'smol360', batch: 1, seq: 32, adapters: 5, checkpointing: 'none' },
  { shape: 'smol360', batch: 2, seq: 32, adapters: 5, checkpointing: 'layers' },
] as const;

describe('the memory plan on wasm', () => {
  for (const c of cases) {
    it(`bounds the arena's peak in use within 15 %: ${c.shape}, batch ${c.batch} × ${c.seq}, ${c.adapters} adapter(s), checkpointing ${c.checkpointing}`, async () => {
      const config = parseModelConfig(MODEL_SHAPES[c.shape]);
      const backend = await WasmBackend.create({ threads: 2 });
      try {
        const model = randomBf16Model(backend, config);
        const adapters = Array.from({ length: c.adapters }, (_, i) => uploadAdapter(backend, initLoraAdapter(model.weights, { r: 8, seed: i })));
        const examples = Array.from({ length: c.batch }, (_, r) => {
          const ids = Array.from({ length: c.seq }, (_, i) => (r * 977 + i * 131) % config.vocabSize);
          return { ids, targets: ids.map((_, i) => (i + 1 < c.seq ? ids[i + 1] : IGNORE_TARGET)) };
        });
        const run = { adapters, train: examples, padId: 0, batchSize: c.batch, accumulation: 1, checkpointing: c.checkpointing };
        const plan = planTraining(backend, model, run)!;
        backend.resetMemoryPeaks();
        for await (const _ of train(backend, model, { ...run, schedule: { lr: 1e-4 } })) {
          // One step; the arena records its peak.
        }
        const measured = backend.memoryPeaks().bytesInUse;
        expect(plan.peakBytes).toBeGreaterThanOrEqual(measured);
        expect(plan.peakBytes).toBeLessThanOrEqual(1.15 * measured);
        expect(plan.breakdown.weights).toBe([...model.weights.values()].reduce((n, t) => n + Math.ceil((t.size * (t.dtype === 'f32' ? 4 : 2)) / 16) * 16, 0));
      } finally {
        await backend.dispose();
      }
    });
  }
});
