// The trainer's step hooks: what a hook sees after each update (the step's
// gradients, AdamW's moments, activation statistics), checked against
// independent computations; that its changes reach the next step with and
// without running ahead; and that its state survives a checkpoint.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  ReferenceBackend,
  Tape,
  Tensor,
  epochOrder,
  loadAdapter,
  loadCheckpoint,
  makeBatch,
  memoryFolder,
  train,
  uploadAdapter,
  type Backend,
  type DeviceAdapter,
  type HookState,
  type StepContext,
  type TrainEvent,
  type TrainHook,
  type TrainOptions,
} from '@lorafuse/core';
import { fixtureFolder } from './fixtures/index.js';
import { randomExamples } from './model-parity-suite.js';

const data = randomExamples([7, 9, 6, 8, 10, 5], 5);

async function setup() {
  const backend = new ReferenceBackend();
  const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
  const adapter = uploadAdapter(backend, await loadAdapter(fixtureFolder('lora-qv-r8')));
  return { backend, model, adapter };
}

const options = (adapter: DeviceAdapter, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  adapters: [adapter],
  train: data,
  padId: 0,
  batchSize: 2,
  accumulation: 2,
  epochs: 2,
  seed: 3,
  loraDropout: 0,
  schedule: { kind: 'constant', lr: 1e-2 },
  ...extra,
});

const host = async (backend: Backend, t: { size: number } & Parameters<Backend['read']>[0]) => Float64Array.from((await backend.read(t)).toFloat32());

/** `Σ_t x_tj²` in float64 of every adapted projection's input over the given sequences, each run alone (no padding). */
async function squaresByHand(backend: Backend, model: CausalLM, adapter: DeviceAdapter, sequences: readonly number[][]) {
  const names = new Set(adapter.modules.map((m) => m.name));
  const sums = new Map<string, Float64Array>();
  for (const ids of sequences) {
    const tape = new Tape(backend);
    const seen: Array<[string, Tensor]> = [];
    const inputs: Array<[string, Parameters<Backend['read']>[0]]> = [];
    model.forward(tape, tape.constant(new Tensor('i32', [1, ids.length], Int32Array.from(ids))), {
      adapters: [adapter],
      onLinearInput: (name, x) => {
        if (names.has(name)) inputs.push([name, tape.keep(x)]);
      },
    });
    for (const [name, x] of inputs) seen.push([name, await backend.read(x)]);
    tape.dispose();
    for (const [name, x] of seen) {
      const v = x.toFloat32();
      const cols = x.shape[x.shape.length - 1];
      const sum = sums.get(name) ?? new Float64Array(cols);
      for (let i = 0; i < v.length; i++) sum[i % cols] += v[i] * v[i];
      sums.set(name, sum);
    }
  }
  return sums;
}

const relative = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
};

describe('train hooks', () => {
  it("see each step's number, gradients, moments and padding-free activation statistics after its update", async () => {
    const { backend, model, adapter } = await setup();
    const params = adapter.modules.flatMap((m) => [m.a, m.b]);
    const seen: Array<{ step: number; epoch: number; grads: Float64Array[]; moments: boolean; squares: Map<string, Float64Array>; tokens: number }> = [];
    // The parameters each step's passes start from, read at the previous step's event.
    const starts: Float64Array[][] = [await Promise.all(params.map((p) => host(backend, p)))];
    const hook: TrainHook = {
      async afterUpdate(c: StepContext) {
        const squares = new Map<string, Float64Array>();
        for (const [name, t] of c.statistics!.inputSquares) squares.set(name, await host(backend, t));
        seen.push({
          step: c.step,
          epoch: c.epoch,
          grads: await Promise.all(params.map((p) => host(backend, c.gradients.get(p)!))),
          moments: params.every((p) => c.moments(p) !== undefined),
          squares,
          tokens: c.statistics!.tokens,
        });
      },
    };
    const events: TrainEvent[] = [];
    for await (const e of train(backend, model, options(adapter, { hooks: [hook], statistics: { inputs: true } }))) {
      events.push(e);
      if (e.type === 'step') starts.push(await Promise.all(params.map((p) => host(backend, p))));
    }
    expect(seen.map((s) => [s.step, s.epoch])).toEqual([
      [1, 0],
      [2, 0],
      [3, 1],
      [4, 1],
    ]);
    expect(seen.every((s) => s.moments)).toBe(true);
    // Each step's gradient and statistics by hand: its four examples from the start of the step.
    const restore = (values: Float64Array[]) =>
      params.forEach((p, i) => {
        backend.kernels.maskApply(
          p,
          backend.upload(new Tensor('u8', [p.size], new Uint8Array(p.size).fill(1))),
          backend.upload(new Tensor('f32', p.shape, Float32Array.from(values[i]))),
        );
      });
    for (const [k, s] of seen.entries()) {
      const epoch = s.epoch;
      const order = epochOrder(data.length, 3, epoch);
      // Micro-batches of 2, 2 of them a step: steps of 4 and then 2 examples.
      const examples = order.slice((k % 2) * 4, (k % 2) * 4 + 4).map((i) => data[i]);
      restore(starts[k]);
      const micro = [examples.slice(0, 2), examples.slice(2, 4)].filter((g) => g.length > 0).map((g) => makeBatch(g, 0));
      const counted = micro.reduce((n, b) => n + b.tokens, 0);
      const grads = params.map((p) => new Float64Array(p.size));
      for (const batch of micro) {
        const tape = new Tape(backend);
        tape.watch(...params);
        const { loss } = model.forward(tape, tape.constant(batch.ids), { adapters: [adapter], targets: tape.constant(batch.targets) });
        const g = tape.backward(loss!, { seed: batch.tokens / counted });
        for (const [i, p] of params.entries()) {
          const v = (await backend.read(g.get(p)!)).toFloat32();
          for (let j = 0; j < v.length; j++) grads[i][j] += v[j];
        }
        tape.dispose();
      }
      for (const [i, g] of grads.entries()) expect(relative(s.grads[i], g), `step ${s.step} gradient ${i}`).toBeLessThan(1e-6);
      const byHand = await squaresByHand(
        backend,
        model,
        adapter,
        examples.map((e) => e.ids),
      );
      expect([...s.squares.keys()].sort()).toEqual([...byHand.keys()].sort());
      for (const [name, sum] of byHand) expect(relative(s.squares.get(name)!, sum), `step ${s.step} ${name}`).toBeLessThan(1e-6);
      expect(s.tokens).toBe(examples.reduce((n, e) => n + e.ids.length, 0));
    }
  });

  it("changes the next step's starting point, running ahead or not, with the same results", async () => {
    const results: { events: unknown[]; params: number[][] }[] = [];
    for (const runAhead of [true, false]) {
      const { backend, model, adapter } = await setup();
      // Zeroes the first column of every A after each update: the next step must see it.
      const hook: TrainHook = {
        afterUpdate(c) {
          for (const m of adapter.modules) {
            const [r, inF] = m.a.shape;
            const mask = new Uint8Array(r * inF);
            for (let k = 0; k < r; k++) mask[k * inF] = 1;
            const t = c.backend.upload(new Tensor('u8', [r * inF], mask));
            c.backend.kernels.maskApply(m.a, t);
            c.backend.free(t);
          }
        },
      };
      const events = [];
      for await (const e of train(backend, model, options(adapter, { hooks: [hook], runAhead })))
        events.push(e.type === 'step' ? { ...e, tokensPerSecond: 0 } : e);
      const params = [];
      for (const m of adapter.modules) params.push(Array.from((await backend.read(m.a)).toFloat32()), Array.from((await backend.read(m.b)).toFloat32()));
      results.push({ events, params });
    }
    expect(results[0]).toEqual(results[1]);
    // The hook did reach the parameters: every A's first column is zero.
    expect(results[0].params.filter((_, i) => i % 2 === 0).every((a) => a[0] === 0)).toBe(true);
  });

  it("saves a hook's state in checkpoints and gives it back on resume: the resumed run equals the uninterrupted one", async () => {
    // A hook that keeps a running sum of the gradients and adds a tenth of it to each B after the update.
    const makeHook = (backend: Backend, adapter: DeviceAdapter) => {
      const sums = new Map<number, ReturnType<Backend['upload']>>();
      const hook: TrainHook = {
        afterUpdate(c) {
          for (const [i, m] of adapter.modules.entries()) {
            const g = c.gradients.get(m.b)!;
            const old = sums.get(i);
            const next = old ? c.backend.kernels.add(old, g) : c.backend.kernels.scale(g, 1);
            if (old) c.backend.free(old);
            sums.set(i, next);
            const nudged = c.backend.kernels.add(m.b, c.backend.kernels.scale(next, 0.1));
            const all = c.backend.upload(new Tensor('u8', [m.b.size], new Uint8Array(m.b.size).fill(1)));
            c.backend.kernels.maskApply(m.b, all, nudged);
          }
        },
        async saveState(): Promise<HookState> {
          const tensors: Record<string, Tensor> = {};
          for (const [i, t] of sums) tensors[String(i)] = await backend.read(t);
          return { tensors, meta: { count: sums.size } };
        },
        loadState(state) {
          expect(state.meta).toEqual({ count: Object.keys(state.tensors).length });
          for (const [i, t] of Object.entries(state.tensors)) sums.set(Number(i), backend.upload(t));
        },
      };
      return hook;
    };
    const run = async (stopAfter?: number, resume = false, folder = memoryFolder()) => {
      const { backend, model, adapter } = await setup();
      const controller = new AbortController();
      const losses: number[] = [];
      try {
        const checkpoint = resume ? await loadCheckpoint(folder) : undefined;
        for await (const e of train(
          backend,
          model,
          options(adapter, { hooks: [makeHook(backend, adapter)], checkpoint: { folder, everySteps: 1 }, resume: checkpoint, signal: controller.signal }),
        )) {
          if (e.type !== 'step') continue;
          losses.push(e.loss);
          if (e.step === stopAfter) controller.abort();
        }
      } catch (error) {
        if (stopAfter === undefined) throw error;
      }
      const bs = [];
      for (const m of adapter.modules) bs.push(Array.from((await backend.read(m.b)).toFloat32()));
      return { losses, bs, folder };
    };
    const whole = await run();
    const first = await run(2);
    expect(first.losses).toEqual(whole.losses.slice(0, first.losses.length));
    const rest = await run(undefined, true, first.folder);
    expect(rest.bs).toEqual(whole.bs);
    expect(rest.losses).toEqual(whole.losses.slice(whole.losses.length - rest.losses.length));
  });
});
