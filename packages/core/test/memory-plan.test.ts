// planMemory against the bytes a real run holds: the reference backend,
// wrapped to record the most bytes its live tensors reach after every
// upload and kernel call, trains LoRA adapters on a Llama fixture; the plan
// of the same run must bound that peak from above, tightly.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  IGNORE_TARGET,
  REFERENCE_MEMORY_TRAITS,
  ReferenceBackend,
  adapterParameters,
  initLoraAdapter,
  isLoraFuseError,
  parseModelConfig,
  planMemory,
  train,
  uploadAdapter,
  type Backend,
  type Example,
  type MemoryPlan,
  type MemoryTraits,
  type ModelConfig,
} from '@lorafuse/core';
import { fixtureFolder } from './fixtures/index.js';

/** A reference backend whose `peak` is the most bytes of live tensors seen after any upload or kernel call. */
function peakTracking(limitBytes?: number): { backend: Backend; peak: () => number; reset: () => void } {
  const inner = new ReferenceBackend();
  let peak = 0;
  const note = () => {
    peak = Math.max(peak, inner.memory().bytes);
  };
  const kernels = Object.fromEntries(
    Object.entries(inner.kernels).map(([name, kernel]) => [
      name,
      (...args: unknown[]) => {
        const out = (kernel as (...a: unknown[]) => unknown)(...args);
        note();
        return out;
      },
    ]),
  ) as unknown as Backend['kernels'];
  const traits: MemoryTraits = { ...REFERENCE_MEMORY_TRAITS, ...(limitBytes === undefined ? {} : { limitBytes }) };
  const backend: Backend = {
    name: inner.name,
    isFallback: false,
    description: inner.description,
    get disposed() {
      return inner.disposed;
    },
    kernels,
    memoryTraits: traits,
    upload: (t) => {
      const out = inner.upload(t);
      note();
      return out;
    },
    read: (t) => inner.read(t),
    free: (t) => inner.free(t),
    sync: () => inner.sync(),
    memory: () => inner.memory(),
    dispose: () => inner.dispose(),
  };
  return {
    backend,
    peak: () => peak,
    reset: () => {
      peak = inner.memory().bytes;
    },
  };
}

/** `count` examples of exactly `seq` tokens, each predicting the next. */
function examples(count: number, seq: number, vocab: number): Example[] {
  return Array.from({ length: count }, (_, r) => {
    const ids = Array.from({ length: seq }, (_, i) => (r * 13 + i * 5) % vocab);
    return { ids, targets: ids.map((_, i) => (i + 1 < seq ? ids[i + 1] : IGNORE_TARGET)) };
  });
}

interface RunSettings {
  batch: number;
  seq: number;
  accumulation?: number;
  adapters?: number;
  dropout?: number;
  validation?: boolean;
  checkpointing?: 'none' | 'layers';
}

async function trainRun(backend: Backend, options: RunSettings) {
  const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
  const adapters = Array.from({ length: options.adapters ?? 1 }, (_, i) =>
    uploadAdapter(backend, initLoraAdapter(model.weights, { r: 4, targets: ['q_proj', 'v_proj', 'down_proj'], seed: i })),
  );
  const data = examples(options.batch * (options.accumulation ?? 1) * 2, options.seq, model.config.vocabSize);
  const run = {
    adapters,
    train: data,
    ...(options.validation ? { validation: data.slice(0, options.batch) } : {}),
    padId: 0,
    batchSize: options.batch,
    accumulation: options.accumulation ?? 1,
    schedule: { lr: 1e-3 },
    ...(options.dropout === undefined ? {} : { loraDropout: options.dropout }),
    checkpointing: options.checkpointing ?? 'none',
  };
  return { model, adapters, run };
}

const settings: RunSettings[] = [
  { batch: 2, seq: 24 },
  { batch: 2, seq: 24, checkpointing: 'layers' },
  { batch: 3, seq: 17, accumulation: 2, adapters: 3 },
  { batch: 2, seq: 20, dropout: 0.1, validation: true, checkpointing: 'layers' },
];

describe('planMemory', () => {
  for (const s of settings) {
    it(`bounds the peak of a training run from above, within 15 % (${JSON.stringify(s)})`, async () => {
      const { backend, peak, reset } = peakTracking();
      const { model, adapters, run } = await trainRun(backend, s);
      reset();
      for await (const _ of train(backend, model, run)) {
        // The peak is recorded by the wrapped kernels.
      }
      const measured = peak();
      const plan = planMemory(model.config, {
        batchSize: s.batch,
        maxLength: s.seq,
        accumulation: s.accumulation ?? 1,
        adapters: adapters.map((a) => ({ modules: a.modules.map((m) => ({ name: m.name, rank: m.a.shape[0] })) })),
        ...(s.dropout === undefined ? {} : { loraDropout: s.dropout }),
        validation: s.validation ?? false,
        checkpointing: s.checkpointing ?? 'none',
        weights: model.weights,
      });
      expect(plan.peakBytes).toBeGreaterThanOrEqual(measured);
      expect(plan.peakBytes).toBeLessThanOrEqual(1.15 * measured);
      const b = plan.breakdown;
      expect(b.weights + b.lora + b.activations + b.head + b.transient).toBe(plan.peakBytes);
      // The weights are the fixture's f32 tensors, all live at the peak.
      expect(b.weights).toBe([...model.weights.values()].reduce((n, t) => n + t.size * 4, 0));
      const loraFloats = adapters.flatMap(adapterParameters).reduce((n, t) => n + t.size, 0);
      // Factors and both AdamW moments at least.
      expect(b.lora).toBeGreaterThanOrEqual(3 * 4 * loraFloats);
      expect(plan.fits).toBe(true);
      model.dispose();
    });
  }

  it('grows with the batch and the length, and counts the [tokens, vocab] logits under the LM head', () => {
    const config = { batchSize: 2, maxLength: 32 };
    const model = planModelConfig();
    const base = planMemory(model, config);
    expect(planMemory(model, { ...config, batchSize: 4 }).breakdown.activations).toBeGreaterThan(base.breakdown.activations);
    expect(planMemory(model, { ...config, maxLength: 64 }).peakBytes).toBeGreaterThan(base.peakBytes);
    // Logits and their gradient, f32: at least one [tokens, vocab] tensor at the peak.
    expect(base.breakdown.head).toBeGreaterThanOrEqual(2 * 32 * model.vocabSize * 4);
  });

  it('suggests the smallest change that fits: checkpointing, then bf16 weights, a smaller batch with more accumulation, shorter sequences, else a smaller model', () => {
    const model = planModelConfig();
    const traits = (limitBytes: number): MemoryTraits => ({ ...REFERENCE_MEMORY_TRAITS, limitBytes });
    const at = (limit: number, options = {}) => planMemory(model, { batchSize: 8, maxLength: 64, backend: traits(limit), ...options });
    const full = planMemory(model, { batchSize: 8, maxLength: 64 });
    const layers = planMemory(model, { batchSize: 8, maxLength: 64, checkpointing: 'layers' });
    expect(layers.breakdown.activations).toBeLessThan(full.breakdown.activations / 2);
    expect(at(layers.peakBytes).suggestion).toMatchObject({ change: 'checkpointing', settings: { checkpointing: 'layers' }, peakBytes: layers.peakBytes });

    const bf16 = planMemory(model, { batchSize: 8, maxLength: 64, checkpointing: 'layers', baseDtype: 'bf16' });
    expect(at(bf16.peakBytes).suggestion).toMatchObject({ change: 'baseDtype', settings: { checkpointing: 'layers', baseDtype: 'bf16' } });

    const half = planMemory(model, { batchSize: 4, maxLength: 64, checkpointing: 'layers', baseDtype: 'bf16' });
    expect(at(half.peakBytes).suggestion).toMatchObject({
      change: 'batchSize',
      settings: { checkpointing: 'layers', baseDtype: 'bf16', batchSize: 4, accumulation: 2 },
      peakBytes: half.peakBytes,
    });

    const one = planMemory(model, { batchSize: 1, maxLength: 32, accumulation: 2, checkpointing: 'layers', baseDtype: 'bf16' });
    const length = at(one.peakBytes, { accumulation: 2 });
    expect(length.suggestion).toMatchObject({ change: 'maxLength', settings: { batchSize: 1, accumulation: 16, maxLength: 32 } });
    expect(length.suggestion!.peakBytes).toBeLessThanOrEqual(one.peakBytes);

    const none = planMemory(model, { batchSize: 8, maxLength: 64, baseDtype: 'bf16', memoryBudget: bf16.breakdown.weights });
    expect(none.suggestion?.change).toBe('model');
    expect(none.limitBytes).toBe(bf16.breakdown.weights);
  });

  it('refuses bad settings with INVALID_OPTION', () => {
    const model = planModelConfig();
    for (const options of [{ batchSize: 0 }, { maxLength: 1.5 }, { adapters: 0 }, { targets: ['nope'] }, { loraDropout: 1 }, { memoryBudget: -1 }]) {
      let error: unknown;
      try {
        planMemory(model, options);
      } catch (e) {
        error = e;
      }
      expect(isLoraFuseError(error, 'INVALID_OPTION'), JSON.stringify(options)).toBe(true);
    }
  });
});

describe('train() checks the memory plan', () => {
  /** A run of batch 4 on a backend whose limit fits the plan of `fitting`. */
  async function limited(fitting: Parameters<typeof planMemory>[1]) {
    const probe = peakTracking();
    const { model: m0, run: r0 } = await trainRun(probe.backend, { batch: 4, seq: 24 });
    const modules = r0.adapters[0].modules.map((m) => ({ name: m.name, rank: 4 }));
    const plan = planMemory(m0.config, { maxLength: 24, weights: m0.weights, adapters: [{ modules }], ...fitting });
    m0.dispose();
    const tracked = peakTracking(plan.peakBytes);
    const { model, run } = await trainRun(tracked.backend, { batch: 4, seq: 24 });
    tracked.reset();
    return { ...tracked, model, run, limit: plan.peakBytes };
  }

  async function failure(iterate: () => AsyncGenerator<unknown>): Promise<{ error: unknown; events: unknown[] }> {
    const events: unknown[] = [];
    try {
      for await (const event of iterate()) events.push(event);
    } catch (error) {
      return { error, events };
    }
    return { error: undefined, events };
  }

  it('checkpoints the layers on its own (auto) when that makes the run fit, and stays within the limit', async () => {
    const { backend, peak, model, run, limit } = await limited({ batchSize: 4, checkpointing: 'layers' });
    const { error, events } = await failure(() => train(backend, model, { ...run, checkpointing: 'auto' }));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'done' });
    expect(peak()).toBeLessThanOrEqual(limit);
    // Refused without checkpointing: the suggestion is checkpointing.
    const refused = await failure(() => train(backend, model, { ...run, checkpointing: 'none' }));
    expect(refused.events).toEqual([]);
    expect(isLoraFuseError(refused.error, 'OUT_OF_MEMORY')).toBe(true);
    expect((refused.error as { details: { plan: MemoryPlan } }).details.plan.suggestion).toMatchObject({ change: 'checkpointing' });
    model.dispose();
  });

  it('fails with OUT_OF_MEMORY before the first step, the plan and a fitting change in details', async () => {
    const { backend, peak, model, run, limit } = await limited({ batchSize: 2, accumulation: 2, checkpointing: 'layers', baseDtype: 'bf16' });
    const before = backend.memory().bytes;
    const { error, events } = await failure(() => train(backend, model, run));
    expect(events).toEqual([]);
    expect(isLoraFuseError(error, 'OUT_OF_MEMORY')).toBe(true);
    const plan = (error as { details: { plan: MemoryPlan } }).details.plan;
    expect(plan.fits).toBe(false);
    expect(plan.limitBytes).toBe(limit);
    expect(plan.suggestion).toMatchObject({ change: 'batchSize', settings: { checkpointing: 'layers', baseDtype: 'bf16', batchSize: 2, accumulation: 2 } });
    expect((error as Error).message).toMatch(/checkpoint the decoder layers, hold the weights as bf16, and use batch size 2 with accumulation 2/);
    // Nothing ran: no activation was ever allocated.
    expect(peak()).toBe(before);
    model.dispose();
  });
});

/** A small Llama config (the fixture's shapes, a longer context) for plans without a run. */
function planModelConfig(): ModelConfig {
  return parseModelConfig({
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 48,
    vocab_size: 64,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    max_position_embeddings: 128,
    torch_dtype: 'float32',
  });
}
