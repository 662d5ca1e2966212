// adapt()'s pruning options against independent computations: running norms
// (sums of squares of the training passes over the last epoch's steps, by
// hand), hidden norms for wanda, gradients for a plugin that asks for them,
// fixed masks, pruning to the initial values, LoRA dropout; and
// adaptiveMerge, the whole flow with its checks before training.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  PluginRegistry,
  PLUGIN_API_VERSION,
  ReferenceBackend,
  Tape,
  Tensor,
  adapt,
  adaptiveMerge,
  catMerge,
  epochOrder,
  loadAdapter,
  uploadAdapter,
  type AdaptOptions,
  type Backend,
  type DeviceAdapter,
  type DeviceTensor,
  type ImportancePlugin,
  type LoraAdapter,
} from '@lorafuse/core';
import { registerPruningPlugins } from '@lorafuse/plugins';
import { asyncCodeOf } from './error-code.js';
import { fixtureFolder } from './fixtures/index.js';
import { randomExamples } from './model-parity-suite.js';

const plugins = registerPruningPlugins(new PluginRegistry());
const data = randomExamples([7, 9, 6, 8, 10, 5], 11);

/** lora-qv-r8 and a copy with A shifted, so the two differ everywhere. */
async function hosts(): Promise<LoraAdapter[]> {
  const host = await loadAdapter(fixtureFolder('lora-qv-r8'));
  const shifted = {
    config: host.config,
    modules: host.modules.map((m) => ({
      ...m,
      a: Tensor.f32(
        m.a.shape,
        m.a.toFloat32().map((v) => 0.3 - v),
      ),
    })),
  };
  return [host, shifted];
}

async function setup() {
  const backend = new ReferenceBackend();
  const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
  const adapters = (await hosts()).map((h) => uploadAdapter(backend, h));
  return { backend, model, adapters };
}

const base = (adapters: readonly DeviceAdapter[]): AdaptOptions => ({
  adapters,
  train: data,
  padId: 0,
  ratio: 0.5,
  plugins,
  batchSize: 2,
  accumulation: 1,
  epochs: 2,
  lr: 5e-3,
  seed: 2,
  loraDropout: 0,
});

const read = async (backend: Backend, t: DeviceTensor) => (await backend.read(t)).toFloat32();

/** A metric that records what each module's call was given (on the host), then scores by magnitude. */
function recorder(requires: ImportancePlugin['requires']) {
  const calls: Array<{ name: string; a: Float32Array; b: Float32Array; input?: Float32Array; hidden?: Float32Array; gradA?: Float32Array }> = [];
  const metric: ImportancePlugin = {
    name: 'recorder',
    kind: 'importance',
    apiVersion: PLUGIN_API_VERSION,
    requires,
    async score({ backend, module: m }) {
      calls.push({
        name: m.name,
        a: await read(backend, m.a),
        b: await read(backend, m.b),
        ...(m.inputNorms ? { input: await read(backend, m.inputNorms) } : {}),
        ...(m.hiddenNorms ? { hidden: await read(backend, m.hiddenNorms) } : {}),
        ...(m.gradA ? { gradA: await read(backend, m.gradA) } : {}),
      });
      return { a: backend.kernels.abs(m.a), b: backend.kernels.abs(m.b) };
    },
  };
  return { metric, calls };
}

/** Per module of each adapter: `Σ x²` of its projection's input and `Σ (A·x)²` over `sequences`, float64, each sequence alone. */
async function squaresByHand(backend: Backend, model: CausalLM, adapters: readonly DeviceAdapter[], sequences: readonly number[][]) {
  const input = new Map<string, Float64Array>();
  const hidden = new Map<string, Float64Array>();
  const add = (sums: Map<string, Float64Array>, key: string, v: Float32Array, cols: number) => {
    const sum = sums.get(key) ?? new Float64Array(cols);
    for (let i = 0; i < v.length; i++) sum[i % cols] += v[i] * v[i];
    sums.set(key, sum);
  };
  for (const ids of sequences) {
    const tape = new Tape(backend);
    const kept: Array<[string, DeviceTensor]> = [];
    model.forward(tape, tape.constant(new Tensor('i32', [1, ids.length], Int32Array.from(ids))), {
      adapters,
      onLinearInput: (name, x) => kept.push([name, tape.keep(x)]),
    });
    for (const [name, x] of kept) {
      const cols = x.shape[2];
      const v = await read(backend, x);
      if (!adapters.some((d) => d.modules.some((m) => m.name === name))) continue;
      add(input, name, v, cols);
      for (const [i, d] of adapters.entries()) {
        const m = d.modules.find((y) => y.name === name);
        if (!m) continue;
        const a = await read(backend, m.a);
        const r = m.a.shape[0];
        const h = new Float32Array((v.length / cols) * r);
        for (let t = 0; t < v.length / cols; t++) for (let k = 0; k < r; k++) for (let j = 0; j < cols; j++) h[t * r + k] += v[t * cols + j] * a[k * cols + j];
        add(hidden, `${i}/${name}`, h, r);
      }
    }
    tape.dispose();
  }
  return { input, hidden };
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

/** Device copies of `adapters` with the factor values of `snapshot` (flat A, B per module, in order). */
function withValues(backend: Backend, adapters: readonly DeviceAdapter[], snapshot: readonly Float32Array[]): DeviceAdapter[] {
  let i = 0;
  return adapters.map((d) => ({
    modules: d.modules.map((m) => ({ ...m, a: backend.upload(Tensor.f32(m.a.shape, snapshot[i++])), b: backend.upload(Tensor.f32(m.b.shape, snapshot[i++])) })),
  }));
}

describe('adapt: where the norms come from', () => {
  it("running norms are the training passes' sums of squares over the last epoch of steps; hidden norms those of A·x", async () => {
    const { backend, model, adapters } = await setup();
    const { metric, calls } = recorder(['inputNorms', 'hiddenNorms']);
    const factors = () => Promise.all(adapters.flatMap((d) => d.modules.flatMap((m) => [read(backend, m.a), read(backend, m.b)])));
    // The factors each step's passes start from: the run's start, then each step's event (after its pruning).
    const starts = [await factors()];
    const stepCalls: (typeof calls)[] = [];
    for await (const e of adapt(backend, model, { ...base(adapters), metric, normSource: 'running' })) {
      if (e.type === 'prune') {
        stepCalls.push(calls.splice(0));
        starts.push(await factors());
      }
    }
    // 3 steps an epoch (6 examples, batches of 2), 2 epochs; the window holds the last 3 steps.
    expect(stepCalls).toHaveLength(6);
    const perStep: Awaited<ReturnType<typeof squaresByHand>>[] = [];
    for (let k = 0; k < 6; k++) {
      const order = epochOrder(data.length, 2, Math.floor(k / 3));
      const batch = order.slice((k % 3) * 2, (k % 3) * 2 + 2).map((i) => data[i].ids);
      perStep.push(await squaresByHand(backend, model, withValues(backend, adapters, starts[k]), batch));
    }
    for (const [k, recorded] of stepCalls.entries()) {
      const window = perStep.slice(Math.max(0, k - 2), k + 1);
      for (const call of recorded) {
        const [adapter, name] = [Number(call.name.split('/')[0]), call.name.slice(call.name.indexOf('/') + 1)];
        const sum = (pick: (s: (typeof perStep)[number]) => Float64Array) =>
          window.reduce((t, s) => t.map((v, j) => v + pick(s)[j]), new Float64Array(pick(window[0]).length));
        const input = sum((s) => s.input.get(name)!).map(Math.sqrt);
        const hidden = sum((s) => s.hidden.get(`${adapter}/${name}`)!).map(Math.sqrt);
        expect(relative(call.input!, input), `step ${k + 1} ${call.name} input norms`).toBeLessThan(1e-6);
        expect(relative(call.hidden!, hidden), `step ${k + 1} ${call.name} hidden norms`).toBeLessThan(1e-6);
      }
    }
  });

  it('dataset norms with hidden norms: the training set through the model with the updated factors', async () => {
    const { backend, model, adapters } = await setup();
    const { metric, calls } = recorder(['inputNorms', 'hiddenNorms']);
    for await (const e of adapt(backend, model, { ...base(adapters), epochs: 1, metric })) {
      if (e.type !== 'prune') continue;
      // The recorded factors are the updated, unpruned ones; the norms must be those of the data through them.
      const updated = adapters.map((d, i) => ({
        modules: d.modules.map((m) => {
          const call = calls.find((c) => c.name === `${i}/${m.name}`)!;
          return { ...m, a: backend.upload(Tensor.f32(m.a.shape, call.a)), b: backend.upload(Tensor.f32(m.b.shape, call.b)) };
        }),
      }));
      const byHand = await squaresByHand(
        backend,
        model,
        updated,
        data.map((x) => x.ids),
      );
      for (const call of calls) {
        const name = call.name.slice(call.name.indexOf('/') + 1);
        expect(relative(call.hidden!, byHand.hidden.get(call.name)!.map(Math.sqrt)), call.name).toBeLessThan(1e-6);
        expect(relative(call.input!, byHand.input.get(name)!.map(Math.sqrt)), name).toBeLessThan(1e-6);
      }
      calls.length = 0;
      break;
    }
  });
});

describe('adapt: what a metric asks for', () => {
  it('gives a plugin metric that requires gradients the step’s gradient, and nothing it did not ask for', async () => {
    const { backend, model, adapters } = await setup();
    const { metric, calls } = recorder(['gradients']);
    for await (const _ of adapt(backend, model, { ...base(adapters), epochs: 1, metric }));
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c) => c.gradA?.some((v) => v !== 0) && c.input === undefined && c.hidden === undefined)).toBe(true);
  });

  it('runs every built-in metric to exact sparsity', async () => {
    for (const metric of ['lora', 'magnitude', 'wanda', 'taylor', 'random']) {
      const { backend, model, adapters } = await setup();
      let last: number[] = [];
      for await (const e of adapt(backend, model, { ...base(adapters), epochs: 1, metric })) if (e.type === 'prune') last = e.tensors.map((t) => t.sparsity);
      expect(last.length, metric).toBeGreaterThan(0);
      expect(
        last.every((s) => s === 0.5),
        metric,
      ).toBe(true);
    }
  });
});

describe('adapt: mask policy', () => {
  it('fixed masks: an entry once pruned stays pruned, and each factor holds exactly the ratio', async () => {
    const { backend, model, adapters } = await setup();
    const zeroSets: Set<number>[][] = [];
    for await (const e of adapt(backend, model, { ...base(adapters), metric: 'magnitude', masks: 'fixed' })) {
      if (e.type !== 'prune') continue;
      const sets: Set<number>[] = [];
      for (const d of adapters)
        for (const m of d.modules)
          for (const t of [m.a, m.b]) {
            const v = await read(backend, t);
            sets.push(new Set([...v.keys()].filter((i) => v[i] === 0)));
            expect(sets.at(-1)!.size).toBe(Math.floor(0.5 * t.size));
          }
      zeroSets.push(sets);
    }
    expect(zeroSets).toHaveLength(6);
    for (let k = 1; k < zeroSets.length; k++) for (const [i, s] of zeroSets[k].entries()) expect(s).toEqual(zeroSets[0][i]);
  });

  it('pruned entries reset to their initial values with prunedValue initial', async () => {
    const { backend, model, adapters } = await setup();
    const initial = await Promise.all(adapters.flatMap((d) => d.modules.flatMap((m) => [read(backend, m.a), read(backend, m.b)])));
    let checked = 0;
    // Pruning by magnitude after a step: the lowest |θ| entries go back to θ₀; the others moved with the step.
    for await (const e of adapt(backend, model, { ...base(adapters), epochs: 1, metric: 'magnitude', prunedValue: 'initial', ratio: 0.25 })) {
      if (e.type !== 'prune') continue;
      const now = await Promise.all(adapters.flatMap((d) => d.modules.flatMap((m) => [read(backend, m.a), read(backend, m.b)])));
      for (const [i, v] of now.entries()) {
        const back = [...v.keys()].filter((j) => v[j] === initial[i][j]).length;
        expect(back).toBeGreaterThanOrEqual(Math.floor(0.25 * v.length));
      }
      checked++;
    }
    expect(checked).toBe(3);
  });

  it('refuses unknown policies and norm sources with INVALID_OPTION', async () => {
    const { backend, model, adapters } = await setup();
    const drain = async (o: AdaptOptions) => {
      for await (const _ of adapt(backend, model, o));
    };
    expect(await asyncCodeOf(() => drain({ ...base(adapters), masks: 'frozen' as 'fixed' }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => drain({ ...base(adapters), prunedValue: 'one' as 'zero' }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => drain({ ...base(adapters), normSource: 'cache' as 'dataset' }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => drain({ ...base(adapters), loraDropout: 1 }))).toBe('INVALID_OPTION');
  });
});

describe('adapt: LoRA dropout', () => {
  it('changes training, draws the same masks for the same seed, and is off in the losses evaluated afterwards', async () => {
    const finals: number[][][] = [];
    for (const loraDropout of [0, 0.3, 0.3]) {
      const { backend, model, adapters } = await setup();
      for await (const _ of adapt(backend, model, { ...base(adapters), epochs: 1, loraDropout }));
      finals.push(await Promise.all(adapters.flatMap((d) => d.modules.map(async (m) => Array.from(await read(backend, m.b))))));
    }
    expect(finals[1]).toEqual(finals[2]);
    expect(finals[1]).not.toEqual(finals[0]);
  });
});

describe('adaptiveMerge', () => {
  it('returns the cat merge of the trained adapters and the run summary', async () => {
    const backend = new ReferenceBackend();
    const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
    const result = await adaptiveMerge(backend, model, { ...base([]), adapters: await hosts(), epochs: 1 });
    expect(result.steps).toBe(3);
    expect(result.trainLoss).toBeGreaterThan(0);
    expect(result.valLoss).toBeNull();
    expect(result.tensors.every((t) => t.sparsity === 0.5)).toBe(true);
    const merged = await catMerge(result.adapters);
    expect(result.merged.modules.map((m) => Array.from(m.a.toFloat32()))).toEqual(merged.modules.map((m) => Array.from(m.a.toFloat32())));
  });

  it('merges adapters on different modules over their union', async () => {
    const backend = new ReferenceBackend();
    const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
    const [qv] = await hosts();
    const all7 = await loadAdapter(fixtureFolder('lora-all7'));
    const result = await adaptiveMerge(backend, model, { ...base([]), adapters: [qv, all7], epochs: 1 });
    expect(result.merged.modules.map((m) => m.name).sort()).toEqual(all7.modules.map((m) => m.name).sort());
    const q = result.merged.modules.find((m) => m.name.endsWith('layers.0.self_attn.q_proj'))!;
    const k = result.merged.modules.find((m) => m.name.endsWith('layers.0.self_attn.k_proj'))!;
    expect(q.rank).toBe(qv.modules[0].rank + all7.modules[0].rank);
    expect(k.rank).toBe(all7.modules.find((m) => m.name === k.name)!.rank);
  });

  it('names an adapter that does not fit the model before any step', async () => {
    const backend = new ReferenceBackend();
    const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
    const [qv] = await hosts();
    const wide = {
      ...qv,
      modules: qv.modules.map((m, i) => (i === 1 ? { ...m, a: Tensor.f32([m.a.shape[0], m.a.shape[1] + 1], new Float32Array(m.a.size + m.a.shape[0])) } : m)),
    };
    let steps = 0;
    const error = await adaptiveMerge(backend, model, {
      ...base([]),
      adapters: [qv, wide],
      labels: ['target/', 'wide/'],
      onProgress: (e) => {
        if (e.type === 'step') steps++;
      },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ADAPTER_MODEL_MISMATCH' });
    expect(String((error as Error).message)).toMatch(/^wide\/: model\.layers\.0\.self_attn\.v_proj/);
    expect(steps).toBe(0);
  });
});
