// The trainer on the tiny fixture model (reference backend): the loss goes
// down, k accumulated micro-batches equal one batch of k, the schedules
// match hand-computed values, abort and early stopping leave a clean state.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  ReferenceBackend,
  adapterParameters,
  downloadAdapter,
  initLoraAdapter,
  loadCheckpoint,
  memoryFolder,
  saveCheckpoint,
  writeSafetensors,
  Tensor,
  saveAdapter,
  epochOrder,
  evaluateLoss,
  isLoraFuseError,
  learningRate,
  loadAdapter,
  train,
  uploadAdapter,
  type Example,
  type StepEvent,
  type TrainEvent,
  type TrainOptions,
} from '@lorafuse/core';
import { fixtureFolder } from './fixtures/index.js';
import { asyncCodeOf, codeOf } from './error-code.js';
import { relL2 } from './reference-oracle.js';
import { randomExamples, resumeSuite } from './model-parity-suite.js';

const PAD = 0;

const examples = randomExamples;

async function setup() {
  const backend = new ReferenceBackend();
  const lm = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
  const adapter = uploadAdapter(backend, await loadAdapter(fixtureFolder('lora-qv-r8')));
  return { backend, lm, adapter, params: adapterParameters(adapter) };
}

async function collect(run: AsyncIterable<TrainEvent>): Promise<TrainEvent[]> {
  const events: TrainEvent[] = [];
  for await (const e of run) events.push(e);
  return events;
}

describe('learningRate vs hand-computed values', () => {
  const base = { lr: 2, warmupSteps: 2, totalSteps: 10 };
  it('warms up linearly from 0, then holds, decays linearly or by a half cosine', () => {
    expect([0, 1, 2, 9].map((s) => learningRate({ ...base, kind: 'constant' }, s))).toEqual([0, 1, 2, 2]);
    // linear: 2·(10 − s)/8
    expect([2, 6, 10, 12].map((s) => learningRate({ ...base, kind: 'linear' }, s))).toEqual([2, 1, 0, 0]);
    // cosine: 2·½(1 + cos(π(s − 2)/8)); s = 4 → 1 + cos(π/4) = 1.7071067811865475
    const cosine = [2, 4, 6, 10].map((s) => learningRate({ ...base, kind: 'cosine' }, s));
    expect(cosine[0]).toBe(2);
    expect(cosine[1]).toBeCloseTo(1.7071067811865475, 14);
    expect(cosine[2]).toBeCloseTo(1, 14);
    expect(cosine[3]).toBeCloseTo(0, 14);
  });

  it('multiplies by epochDecay^epoch and needs totalSteps to decay', () => {
    expect(learningRate({ lr: 1, epochDecay: 0.5 }, 7, 2)).toBe(0.25);
    expect(learningRate({ lr: 1, warmupSteps: 4, epochDecay: 0.5 }, 1, 1)).toBe(0.125);
    expect(() => learningRate({ lr: 1, kind: 'linear' }, 0)).toThrow(/totalSteps/);
  });
});

describe('epochOrder', () => {
  it('is a seeded permutation that changes with the epoch and the seed', () => {
    const a = epochOrder(20, 7, 0);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(epochOrder(20, 7, 0)).toEqual(a);
    expect(epochOrder(20, 7, 1)).not.toEqual(a);
    expect(epochOrder(20, 8, 0)).not.toEqual(a);
  });
});

describe('train (reference backend, llama-tiny + LoRA q,v r=8)', () => {
  it('lowers the loss over a few steps and frees everything it made', async () => {
    const { backend, lm, adapter } = await setup();
    const data = examples([12, 9, 16, 7, 11, 14]);
    const baseline = backend.memory();
    const score = async (rows: Example[]) => (await evaluateLoss(backend, lm, rows, { adapters: [adapter], padId: PAD })).loss;
    const before = await score(data);
    // The first step trains on the first three examples of epoch 0's Philox order.
    const firstBatch = await score(
      epochOrder(6, 0, 0)
        .slice(0, 3)
        .map((i) => data[i]),
    );
    const seen: TrainEvent[] = [];
    const events = await collect(
      // The fixture adapter has PEFT's lora_dropout 0.05: off, so that the step's loss is the evaluated one.
      train(backend, lm, {
        adapters: [adapter],
        train: data,
        padId: PAD,
        batchSize: 3,
        epochs: 4,
        schedule: { lr: 1e-2 },
        loraDropout: 0,
        onProgress: (e) => seen.push(e),
      }),
    );
    const after = await score(data);
    const steps = events.filter((e): e is StepEvent => e.type === 'step');
    expect(steps.map((s) => [s.step, s.epoch])).toEqual([
      [1, 0],
      [2, 0],
      [3, 1],
      [4, 1],
      [5, 2],
      [6, 2],
      [7, 3],
      [8, 3],
    ]);
    expect(Math.abs(steps[0].loss - firstBatch)).toBeLessThan(1e-6);
    expect(after).toBeLessThan(0.9 * before);
    expect(steps.every((s) => s.tokensPerSecond > 0 && s.lr === 1e-2)).toBe(true);
    expect(events.at(-1)).toEqual({ type: 'done', steps: 8, epochs: 4, reason: 'completed' });
    expect(seen).toEqual(events);
    expect(backend.memory()).toEqual(baseline);
  });

  it('k accumulated micro-batches of unequal token counts equal one padded batch of all of them', async () => {
    const data = examples([5, 13, 8, 3]);
    const runOnce = async (options: Partial<TrainOptions>) => {
      const { backend, lm, adapter, params } = await setup();
      // A large eps makes AdamW's first step ≈ lr·g/eps, proportional to the gradient, not its sign.
      const events = await collect(
        train(backend, lm, {
          adapters: [adapter],
          train: data,
          padId: PAD,
          schedule: { lr: 1 },
          adamw: { eps: 10, weightDecay: 0 },
          loraDropout: 0,
          ...options,
        }),
      );
      const step = events[0] as StepEvent;
      return { step, params: await Promise.all(params.map(async (p) => (await backend.read(p)).toFloat32())) };
    };
    const whole = await runOnce({ batchSize: 4 });
    const micro = await runOnce({ batchSize: 1, accumulation: 4 });
    const pairs = await runOnce({ batchSize: 2, accumulation: 2 });
    for (const run of [micro, pairs]) {
      expect(Math.abs(run.step.loss - whole.step.loss)).toBeLessThan(1e-6);
      expect(Math.abs(run.step.gradNorm - whole.step.gradNorm) / whole.step.gradNorm).toBeLessThan(1e-5);
      for (const [i, p] of run.params.entries()) expect(relL2(p, whole.params[i])).toBeLessThan(1e-6);
    }
  });

  it('clips the global gradient norm as clip_grad_norm_ does', async () => {
    const data = examples([9, 9]);
    const deltas = async (maxGradNorm?: number) => {
      const { backend, lm, adapter, params } = await setup();
      const start = await Promise.all(params.map(async (p) => (await backend.read(p)).toFloat32()));
      const [step] = (await collect(
        train(backend, lm, { adapters: [adapter], train: data, padId: PAD, schedule: { lr: 1e4 }, adamw: { eps: 1e4, weightDecay: 0 }, maxGradNorm }),
      )) as StepEvent[];
      const end = await Promise.all(params.map(async (p) => (await backend.read(p)).toFloat32()));
      return { norm: step.gradNorm, delta: end.flatMap((e, i) => Array.from(e, (w, j) => w - start[i][j])) };
    };
    const free = await deltas();
    const clipped = await deltas(free.norm / 4);
    // With eps ≫ |g| AdamW's first step is ≈ −lr·g/eps = −g, so clipping the norm by 4 shrinks the step by 4.
    expect(
      relL2(
        clipped.delta,
        free.delta.map((d) => d / 4),
      ),
    ).toBeLessThan(1e-3);
    expect(relL2(free.delta, (await deltas(free.norm * 2)).delta)).toBe(0);
  });

  it('stops with ABORTED mid-epoch, keeping the completed steps and freeing the rest', async () => {
    const { backend, lm, adapter, params } = await setup();
    const baseline = backend.memory();
    const controller = new AbortController();
    const steps: number[] = [];
    const run = train(backend, lm, {
      adapters: [adapter],
      train: examples([8, 8, 8, 8, 8, 8]),
      padId: PAD,
      batchSize: 1,
      accumulation: 2,
      schedule: { lr: 1e-2 },
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'step') steps.push(e.step);
        if (e.type === 'step' && e.step === 1) controller.abort();
      },
    });
    const error = await collect(run).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isLoraFuseError(error, 'ABORTED')).toBe(true);
    expect(steps).toEqual([1]);
    expect(backend.memory()).toEqual(baseline);
    expect((await backend.read(params[0])).toFloat32().every(Number.isFinite)).toBe(true);
  });

  it('evaluates each epoch and stops early when validation stops improving', async () => {
    const { backend, lm, adapter } = await setup();
    const validation = examples([10, 6], 2);
    const expected = (await evaluateLoss(backend, lm, validation, { adapters: [adapter], padId: PAD })).loss;
    // lr 0 keeps the model fixed: epoch 0 sets the best loss, epoch 1 does not improve on it.
    const events = await collect(
      train(backend, lm, {
        adapters: [adapter],
        train: examples([8, 8]),
        validation,
        padId: PAD,
        epochs: 5,
        schedule: { lr: 0 },
        earlyStopping: { patience: 1 },
      }),
    );
    expect(events.map((e) => e.type)).toEqual(['step', 'eval', 'step', 'eval', 'done']);
    expect(events[1]).toEqual({ type: 'eval', epoch: 0, loss: expected });
    expect(events.at(-1)).toEqual({ type: 'done', steps: 2, epochs: 2, reason: 'early-stopped', bestValidationLoss: expected });
  });
});

describe('initLoraAdapter and downloadAdapter', () => {
  it('creates PEFT-initialised factors (A ~ U(±1/√in), B = 0) on the targeted layers, seeded', async () => {
    const { lm } = await setup();
    const adapter = initLoraAdapter(lm.weights, { r: 4, alpha: 8, targets: ['q_proj', 'down_proj'], seed: 3 });
    expect(adapter.modules.map((m) => [m.name, m.a.shape, m.b.shape, m.scaling])).toEqual([
      ['model.layers.0.self_attn.q_proj', [4, 32], [32, 4], 2],
      ['model.layers.0.mlp.down_proj', [4, 48], [32, 4], 2],
      ['model.layers.1.self_attn.q_proj', [4, 32], [32, 4], 2],
      ['model.layers.1.mlp.down_proj', [4, 48], [32, 4], 2],
    ]);
    for (const m of adapter.modules) {
      const a = m.a.toFloat32();
      const bound = 1 / Math.sqrt(m.a.shape[1]);
      expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.9 * bound);
      expect(m.b.toFloat32().every((x) => x === 0)).toBe(true);
    }
    expect(initLoraAdapter(lm.weights, { r: 4, targets: ['q_proj'], seed: 3 }).modules[0].a.data).toEqual(adapter.modules[0].a.data);
    expect(initLoraAdapter(lm.weights, { r: 4, targets: ['q_proj'], seed: 4 }).modules[0].a.data).not.toEqual(adapter.modules[0].a.data);
    expect(codeOf(() => initLoraAdapter(lm.weights, { targets: ['nothing'] }))).toBe('INVALID_OPTION');
  });

  it('trains a fresh adapter and saves what the device holds', async () => {
    const { backend, lm } = await setup();
    const fresh = initLoraAdapter(lm.weights, { r: 2, seed: 1 });
    const device = uploadAdapter(backend, fresh);
    await collect(train(backend, lm, { adapters: [device], train: examples([10, 10]), padId: PAD, epochs: 2, schedule: { lr: 1e-2 } }));
    const trained = await downloadAdapter(backend, device, fresh.config);
    expect(trained.modules[0].b.toFloat32().some((x) => x !== 0)).toBe(true);
    const folder = memoryFolder();
    await saveAdapter(folder, trained);
    const reloaded = await loadAdapter(folder);
    for (const [i, m] of reloaded.modules.entries()) {
      expect(m.a.toFloat32()).toEqual((await backend.read(device.modules[i].a)).toFloat32());
      expect(m.b.toFloat32()).toEqual((await backend.read(device.modules[i].b)).toFloat32());
    }
  });
});

describe('train checkpoints (reference backend)', () => resumeSuite('reference', () => new ReferenceBackend()));

describe('checkpoint refusals', () => {
  it('refuses a file that is not a trainer checkpoint, a different seed, and tensors that do not fit', async () => {
    const { backend, lm, adapter, params } = await setup();
    const other = memoryFolder();
    await writeSafetensors(other, 'trainer-state.safetensors', { x: Tensor.f32([1], [0]) });
    expect(await asyncCodeOf(() => loadCheckpoint(other))).toBe('DATA_INVALID');
    const folder = memoryFolder();
    const progress = { step: 1, epoch: 0, stepInEpoch: 1, seed: 3, best: null, lowest: null, stale: 0 };
    await saveCheckpoint(
      folder,
      backend,
      params,
      params.map(() => undefined),
      progress,
    );
    const checkpoint = await loadCheckpoint(folder);
    const run = (options: Partial<TrainOptions>) =>
      collect(train(backend, lm, { adapters: [adapter], train: examples([4]), padId: PAD, schedule: { lr: 1 }, resume: checkpoint, ...options }));
    expect(await asyncCodeOf(() => run({ seed: 4 }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => run({ seed: 3, params: params.slice(1) }))).toBe('SHAPE_MISMATCH');
    expect(await asyncCodeOf(() => run({ seed: 3 }))).toBeUndefined();
  });
});
