// Issue 9, training faults (reference backend): a step with a NaN loss or
// gradient norm is skipped — the trained tensors and the AdamW state read
// back unchanged — and counted, the learning rate backs off by the given
// factor, and too many bad steps in a row stop the run with
// TRAINING_DIVERGED after checkpointing the last good parameters.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  ReferenceBackend,
  Tensor,
  adapterParameters,
  isLoraFuseError,
  learningRate,
  loadAdapter,
  loadCheckpoint,
  memoryFolder,
  train,
  uploadAdapter,
  type Backend,
  type DeviceTensor,
  type StepEvent,
  type TrainCheckpoint,
  type TrainOptions,
} from '@lorafuse/core';
import { fixtureFolder } from './fixtures/index.js';
import { asyncCodeOf } from './error-code.js';
import { randomExamples } from './model-parity-suite.js';

const SCHEDULE = { kind: 'linear' as const, lr: 1e-2, totalSteps: 8 };

/** Overwrites a device tensor in place with host values (the model keeps its handle). */
function overwrite(backend: Backend, target: DeviceTensor, values: Float32Array): void {
  const all = backend.upload(new Tensor('u8', [target.size], new Uint8Array(target.size).fill(1)));
  const value = backend.upload(new Tensor('f32', target.shape, values));
  backend.kernels.maskApply(target, all, value);
  backend.free(all);
  backend.free(value);
}

interface Snapshot {
  readonly event: StepEvent;
  readonly params: Float32Array[];
  readonly checkpoint: TrainCheckpoint;
}

/**
 * Trains llama-tiny + lora-qv-r8 for 8 one-example steps, checkpointing
 * every step, with the final norm's first weight set to `bad` (default NaN)
 * from after step `poisonAfter` (0: from the start) until after step
 * `healAfter` (never healed when undefined). The trainer does not run ahead
 * unless `extra` says so: a change made at a step's event then reaches the
 * next step.
 */
async function runPoisoned(poisonAfter: number, healAfter: number | undefined, extra: Partial<TrainOptions> = {}, bad = Number.NaN) {
  const backend = new ReferenceBackend();
  const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
  const adapter = uploadAdapter(backend, await loadAdapter(fixtureFolder('lora-qv-r8')));
  const params = adapterParameters(adapter);
  const norm = model.weights.get('model.norm.weight')!;
  const healthy = (await backend.read(norm)).toFloat32();
  const poisoned = healthy.slice();
  poisoned[0] = bad;
  if (poisonAfter === 0) overwrite(backend, norm, poisoned);
  const folder = memoryFolder();
  const snapshots: Snapshot[] = [];
  const read = () => Promise.all(params.map(async (p) => (await backend.read(p)).toFloat32()));
  const initial = await read();
  let error: unknown;
  try {
    for await (const event of train(backend, model, {
      adapters: [adapter],
      train: randomExamples([7, 9, 6, 8, 10, 7, 9, 8]),
      padId: 0,
      batchSize: 1,
      schedule: SCHEDULE,
      checkpoint: { folder, everySteps: 1 },
      runAhead: false,
      ...extra,
    })) {
      if (event.type !== 'step') continue;
      snapshots.push({ event, params: await read(), checkpoint: await loadCheckpoint(folder) });
      if (event.step === poisonAfter) overwrite(backend, norm, poisoned);
      if (event.step === healAfter) overwrite(backend, norm, healthy);
    }
  } catch (e) {
    error = e;
  }
  return { snapshots, initial, final: await read(), folder, error };
}

const same = (a: readonly Float32Array[], b: readonly Float32Array[]) =>
  a.length === b.length && a.every((x, i) => Buffer.from(x.buffer).equals(Buffer.from(b[i].buffer)));

function expectSameOptimizer(a: TrainCheckpoint, b: TrainCheckpoint): void {
  expect(a.optimizer.map((s) => s?.step)).toEqual(b.optimizer.map((s) => s?.step));
  for (const [i, slot] of a.optimizer.entries()) {
    expect(same([slot!.m.toFloat32(), slot!.v.toFloat32()], [b.optimizer[i]!.m.toFloat32(), b.optimizer[i]!.v.toFloat32()])).toBe(true);
  }
}

describe('train: non-finite loss or gradient norm', () => {
  it('skips the bad step (tensors and AdamW state unchanged, counted), backs the rate off, and goes on', async () => {
    const { snapshots, error } = await runPoisoned(2, 3, { badSteps: { lrBackoff: 0.5 } });
    expect(error).toBeUndefined();
    expect(snapshots.map((s) => [s.event.step, s.event.skipped, s.event.skippedSteps])).toEqual([
      [1, false, 0],
      [2, false, 0],
      [3, true, 1],
      [4, false, 1],
      [5, false, 1],
      [6, false, 1],
      [7, false, 1],
      [8, false, 1],
    ]);
    const [, two, three, four] = snapshots;
    expect(Number.isNaN(three.event.loss)).toBe(true);
    expect(Number.isFinite(two.event.loss) && Number.isFinite(four.event.loss) && Number.isFinite(four.event.gradNorm)).toBe(true);
    // Bit for bit what step 2 left, read back from the device and from the checkpoint.
    expect(same(three.params, two.params)).toBe(true);
    expect(
      same(
        three.checkpoint.params.map((t) => t.toFloat32()),
        two.params,
      ),
    ).toBe(true);
    expectSameOptimizer(three.checkpoint, two.checkpoint);
    expect(three.checkpoint.progress).toMatchObject({ step: 3, skippedSteps: 1, badInARow: 1, lrScale: 0.5 });
    // The next good step moves the tensors and uses half the scheduled rate from then on.
    expect(same(four.params, three.params)).toBe(false);
    expect(four.params.every((p) => p.every(Number.isFinite))).toBe(true);
    expect(snapshots.map((s) => s.event.lr)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => learningRate(SCHEDULE, i) * (i >= 3 ? 0.5 : 1)));
    expect(four.checkpoint.progress).toMatchObject({ badInARow: 0, lrScale: 0.5 });
  });

  it('running ahead, a change made at step k reaches step k + 2, and every event, tensor and checkpoint is as without running ahead from step k + 1', async () => {
    const ahead = await runPoisoned(1, 2, { runAhead: true, badSteps: { lrBackoff: 0.5 } });
    const inStep = await runPoisoned(2, 3, { badSteps: { lrBackoff: 0.5 } });
    expect(ahead.snapshots.map((s) => s.event.skipped)).toEqual([false, false, true, false, false, false, false, false]);
    expect(ahead.snapshots.map((s) => ({ ...s.event, tokensPerSecond: 0 }))).toEqual(inStep.snapshots.map((s) => ({ ...s.event, tokensPerSecond: 0 })));
    expect(same(ahead.final, inStep.final)).toBe(true);
    for (const [i, s] of ahead.snapshots.entries()) {
      expect(same(s.params, inStep.snapshots[i].params)).toBe(true);
      expectSameOptimizer(s.checkpoint, inStep.snapshots[i].checkpoint);
      expect(s.checkpoint.progress).toEqual(inStep.snapshots[i].checkpoint.progress);
    }
  });

  it('stops with TRAINING_DIVERGED after the default 5 bad steps in a row, the last good tensors checkpointed', async () => {
    const { snapshots, final, folder, error } = await runPoisoned(2, undefined);
    expect(isLoraFuseError(error, 'TRAINING_DIVERGED')).toBe(true);
    expect((error as { details: unknown }).details).toEqual({ step: 7, badInARow: 5, lastGoodStep: 2 });
    expect(snapshots.map((s) => s.event.skipped)).toEqual([false, false, true, true, true, true, true]);
    expect(snapshots.at(-1)!.event.skippedSteps).toBe(5);
    const good = snapshots[1].params;
    expect(same(final, good)).toBe(true);
    const saved = await loadCheckpoint(folder);
    expect(
      same(
        saved.params.map((t) => t.toFloat32()),
        good,
      ),
    ).toBe(true);
    expectSameOptimizer(saved, snapshots[1].checkpoint);
    expect(saved.progress).toMatchObject({ step: 7, skippedSteps: 5, badInARow: 5, lrScale: 1 });
  });

  it('skips an infinite first step (no optimizer state yet) and honours maxConsecutive', async () => {
    const { snapshots, initial, final, folder, error } = await runPoisoned(0, undefined, { badSteps: { maxConsecutive: 1 } }, Number.POSITIVE_INFINITY);
    expect(isLoraFuseError(error, 'TRAINING_DIVERGED')).toBe(true);
    expect(snapshots.map((s) => [s.event.step, s.event.skipped])).toEqual([[1, true]]);
    expect(same(final, initial)).toBe(true);
    const saved = await loadCheckpoint(folder);
    expect(
      same(
        saved.params.map((t) => t.toFloat32()),
        initial,
      ),
    ).toBe(true);
    expect(saved.optimizer.every((s) => s === undefined)).toBe(true);
  });

  it('refuses bad badSteps options with INVALID_OPTION', async () => {
    for (const badSteps of [{ maxConsecutive: 0 }, { maxConsecutive: 1.5 }, { lrBackoff: 0 }, { lrBackoff: 1.5 }, { lrBackoff: Number.NaN }]) {
      expect(
        await asyncCodeOf(() =>
          runPoisoned(0, undefined, { badSteps }).then((r) => {
            if (r.error) throw r.error;
          }),
        ),
        JSON.stringify(badSteps),
      ).toBe('INVALID_OPTION');
    }
  });
});
