// adapt() on the tiny fixture Llama with two adapters (lora-qv-r8 and a
// perturbed copy): every step prunes every factor to exactly the ratio, the
// masks equal a float64 sort-based recomputation of the method's importance
// written here, pruning follows every step, and training lowers the loss.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  PUBLISHED_ADAPT_SETTINGS,
  PluginRegistry,
  ReferenceBackend,
  Tensor,
  adapt,
  collectInputNorms,
  evaluateLoss,
  loadAdapter,
  uploadAdapter,
  type AdaptEvent,
  type AdaptOptions,
  type ImportancePlugin,
  type LoraAdapter,
} from '@lorafuse/core';
import { linearSchedule, registerPruningPlugins } from '@lorafuse/plugins';
import { fixtureFolder } from './fixtures/index.js';
import { asyncCodeOf } from './error-code.js';
import { randomExamples } from './model-parity-suite.js';

const plugins = registerPruningPlugins(new PluginRegistry());
const data = randomExamples([7, 9, 6, 8, 10, 5, 8, 7], 3);

/** A second adapter: lora-qv-r8 with its factors scaled and shifted, so the two differ everywhere. */
function perturbed(adapter: LoraAdapter): LoraAdapter {
  const bend = (t: Tensor, k: number) =>
    new Tensor(
      'f32',
      t.shape,
      t.toFloat32().map((v, i) => -0.7 * v + k * Math.sin(i)),
    );
  return { config: adapter.config, modules: adapter.modules.map((m) => ({ ...m, a: bend(m.a, 0.05), b: bend(m.b, 0.02) })) };
}

async function setup() {
  const backend = new ReferenceBackend();
  const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
  const host = await loadAdapter(fixtureFolder('lora-qv-r8'));
  const adapters = [uploadAdapter(backend, host), uploadAdapter(backend, perturbed(host))];
  return { backend, model, adapters };
}

const base = (adapters: AdaptOptions['adapters']): AdaptOptions => ({
  adapters,
  train: data,
  padId: 0,
  ratio: 0.5,
  plugins,
  batchSize: 1,
  accumulation: 4,
  epochs: 1,
  lr: 5e-3,
});

/** The method's importance in float64: I(A_kj) = n_j·|Σ_i sgn(W_ij)·B_ik|, I(B_ik) = |Σ_j sgn(W_ij)·A_kj·n_j|, W = B·A. */
function importance(a: Float32Array, b: Float32Array, n: Float32Array, r: number) {
  const inF = n.length;
  const out = b.length / r;
  const sgn = new Float64Array(out * inF);
  for (let i = 0; i < out; i++) {
    for (let j = 0; j < inF; j++) {
      let w = 0;
      for (let k = 0; k < r; k++) w += b[i * r + k] * a[k * inF + j];
      sgn[i * inF + j] = Math.sign(w);
    }
  }
  const ia = new Float64Array(r * inF);
  const ib = new Float64Array(out * r);
  for (let k = 0; k < r; k++) {
    for (let j = 0; j < inF; j++) {
      let s = 0;
      for (let i = 0; i < out; i++) s += sgn[i * inF + j] * b[i * r + k];
      ia[k * inF + j] = n[j] * Math.abs(s);
    }
  }
  for (let i = 0; i < out; i++) {
    for (let k = 0; k < r; k++) {
      let s = 0;
      for (let j = 0; j < inF; j++) s += sgn[i * inF + j] * a[k * inF + j] * n[j];
      ib[i * r + k] = Math.abs(s);
    }
  }
  return { ia, ib };
}

/** Indices pruned at `ratio`: the ⌊ratio·size⌋ lowest scores, lower index first on ties. */
function sortMask(scores: Float64Array, ratio: number): Set<number> {
  const order = Array.from(scores.keys()).sort((x, y) => scores[x] - scores[y] || x - y);
  return new Set(order.slice(0, Math.floor(ratio * scores.length)));
}

const zeros = (t: Float32Array) => new Set([...t.keys()].filter((i) => t[i] === 0));

describe('adapt (update-and-prune)', () => {
  it('prunes every factor of both adapters to exactly the ratio after every step, with the masks of a float64 sort-based reference', async () => {
    const { backend, model, adapters } = await setup();
    const owners = adapters.flatMap((d) => d.modules);
    // The lora metric, recording the factors and norms it scores (the trained factors before the step's masks).
    let scored: { a: Float32Array; b: Float32Array; n: Float32Array }[] = [];
    const lora = plugins.get('importance', 'lora') as ImportancePlugin;
    const recording: ImportancePlugin = {
      ...lora,
      name: 'recording-lora',
      async score(context) {
        const { a, b, inputNorms } = context.module;
        scored.push({ a: (await backend.read(a)).toFloat32(), b: (await backend.read(b)).toFloat32(), n: (await backend.read(inputNorms!)).toFloat32() });
        return lora.score(context);
      },
    };
    const events: AdaptEvent[] = [];
    for await (const event of adapt(backend, model, { ...base(adapters), metric: recording })) {
      events.push(event);
      if (event.type !== 'prune') continue;
      expect(event.tensors).toHaveLength(2 * owners.length);
      for (const t of event.tensors) expect(t.sparsity).toBe(0.5);
      // The norms the metric got are those of the training set through the model with the updated, unpruned adapters.
      const updated = adapters.map((d, i) => ({
        modules: d.modules.map((m, j) => {
          const k = i * adapters[0].modules.length + j;
          return { ...m, a: backend.upload(Tensor.f32(m.a.shape, scored[k].a)), b: backend.upload(Tensor.f32(m.b.shape, scored[k].b)) };
        }),
      }));
      const norms = await collectInputNorms(backend, model, { modules: owners.map((m) => m.name), examples: data, adapters: updated });
      for (const [i, m] of owners.entries()) {
        expect(scored[i].n).toEqual(norms.get(m.name)!.toFloat32());
        const r = m.a.shape[0];
        const { ia, ib } = importance(scored[i].a, scored[i].b, scored[i].n, r);
        const a = (await backend.read(m.a)).toFloat32();
        const b = (await backend.read(m.b)).toFloat32();
        expect(zeros(a)).toEqual(sortMask(ia, 0.5));
        expect(zeros(b)).toEqual(sortMask(ib, 0.5));
        // kept entries are untouched
        for (const j of a.keys()) if (a[j] !== 0) expect(a[j]).toBe(scored[i].a[j]);
        for (const j of b.keys()) if (b[j] !== 0) expect(b[j]).toBe(scored[i].b[j]);
      }
      scored = [];
    }
    expect(events.map((e) => e.type)).toEqual(['step', 'prune', 'step', 'prune', 'done']);
    const prunes = events.filter((e) => e.type === 'prune');
    expect(prunes.map((e) => e.step)).toEqual([1, 2]);
    expect(prunes[0].tensors.map((t) => t.adapter)).toEqual(owners.map((_, i) => (i < adapters[0].modules.length ? 0 : 1)).flatMap((x) => [x, x]));
  });

  it('lowers the training loss over a few epochs with pruning at ratio 0.2, per-epoch norms', async () => {
    const { backend, model, adapters } = await setup();
    const loss = async () => (await evaluateLoss(backend, model, data, { adapters, padId: 0 })).loss;
    const start = await loss();
    const steps: number[] = [];
    for await (const e of adapt(backend, model, { ...base(adapters), ratio: 0.2, refresh: 'epoch', epochs: 3, lr: 1e-2 }))
      if (e.type === 'step') steps.push(e.loss);
    const end = await loss();
    expect(steps).toHaveLength(6);
    expect(end).toBeLessThan(start - 0.05);
  });

  it('holds the published settings and refuses bad options', async () => {
    expect(PUBLISHED_ADAPT_SETTINGS).toMatchObject({
      r: 8,
      alpha: 32,
      lr: 1e-4,
      weightDecay: 0,
      batchSize: 1,
      accumulation: 8,
      epochs: 10,
      epochDecay: 0.85,
      metric: 'lora',
      grouping: 'module',
      refresh: 'step',
    });
    expect(PUBLISHED_ADAPT_SETTINGS.targetModules).toEqual(['q_proj', 'v_proj']);
    const { backend, model, adapters } = await setup();
    const drain = async (o: AdaptOptions) => {
      for await (const _ of adapt(backend, model, o));
    };
    expect(await asyncCodeOf(() => drain({ ...base(adapters), adapters: [] }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => drain({ ...base(adapters), ratio: 1.5 }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => drain({ ...base(adapters), signal: AbortSignal.abort() }))).toBe('ABORTED');
  });
});

describe('adapt with a pruning schedule', () => {
  it('prunes each factor to the ratio a linear ramp gives at each step: ⌊ratio·(step/3)·size⌋ entries, then the full ratio', async () => {
    const { backend, model, adapters } = await setup();
    const seen: Array<[number, number | null, number[]]> = [];
    for await (const event of adapt(backend, model, { ...base(adapters), accumulation: 1, epochs: 1, schedule: linearSchedule({ steps: 3 }) })) {
      if (event.type === 'prune') seen.push([event.step, event.ratio, event.tensors.map((t) => t.pruned)]);
    }
    const sizes = adapters.flatMap((a) => a.modules.flatMap((m) => [m.a.size, m.b.size]));
    expect(seen).toHaveLength(data.length);
    for (const [step, ratio, pruned] of seen) {
      const expected = 0.5 * Math.min(1, (step - 1) / 3); // the schedule sees the 0-based step
      expect(ratio).toBeCloseTo(expected, 12);
      expect(pruned).toEqual(sizes.map((n) => Math.floor(expected * n + 1e-9)));
    }
  });
});
