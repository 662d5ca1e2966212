// The built-in schedules against hand-computed values, taylor's smoothing
// against float64 arithmetic, random's reproducibility, and registration.
import { describe, expect, it } from 'vitest';
import {
  LoraFuseError,
  PLUGIN_API_VERSION,
  PluginRegistry,
  Pruner,
  ReferenceBackend,
  Tensor,
  type DeviceTensor,
  type ImportancePlugin,
  type ImportanceState,
} from '@lorafuse/core';
import {
  constantSchedule,
  cubicSchedule,
  everyNStepsSchedule,
  linearSchedule,
  nmGrouping,
  onceSchedule,
  pruningPlugins,
  randomMetric,
  registerPruningPlugins,
  taylorMetric,
} from '@lorafuse/plugins';
import { codeOf } from '../../core/test/error-code.js';

describe('schedules', () => {
  const at = (s: { ratio(step: number, target: number): number | null }, steps: number[], target = 0.8) => steps.map((t) => s.ratio(t, target));

  it('constant gives the target every step', () => {
    expect(at(constantSchedule, [0, 1, 1000])).toEqual([0.8, 0.8, 0.8]);
  });

  it('linear ramps from 0 over `steps`, starting at `start`', () => {
    expect(at(linearSchedule({ steps: 4 }), [0, 1, 2, 3, 4, 9])).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 0.8]);
    expect(at(linearSchedule({ steps: 4, start: 2 }), [0, 2, 3, 6, 7])).toEqual([0, 0, 0.2, 0.8, 0.8]);
    expect(at(linearSchedule({ steps: 0, start: 3 }), [2, 3])).toEqual([0, 0.8]);
  });

  it('cubic follows Zhu & Gupta: target·(1 − (1 − p)³)', () => {
    // p = 1/4: 1 − 27/64 = 37/64; p = 1/2: 7/8; p = 3/4: 63/64.
    const got = at(cubicSchedule({ steps: 4 }), [0, 1, 2, 3, 4, 5], 0.64) as number[];
    [0, 0.37, 0.56, 0.63, 0.64, 0.64].forEach((e, i) => {
      expect(got[i]).toBeCloseTo(e, 14);
    });
  });

  it('every-n-steps prunes on offset, offset + n, … and skips the rest', () => {
    expect(at(everyNStepsSchedule({ every: 3, offset: 1 }), [0, 1, 2, 3, 4, 7])).toEqual([null, 0.8, null, null, 0.8, 0.8]);
  });

  it('once prunes at its step only', () => {
    expect(at(onceSchedule({ at: 2 }), [0, 1, 2, 3])).toEqual([null, null, 0.8, null]);
  });

  it.each([
    ['linear with negative steps', () => linearSchedule({ steps: -1 })],
    ['cubic with fractional steps', () => cubicSchedule({ steps: 1.5 })],
    ['every-n-steps with every 0', () => everyNStepsSchedule({ every: 0 })],
    ['once at a negative step', () => onceSchedule({ at: -2 })],
    ['N:M with N > M', () => nmGrouping(5, 4)],
    ['taylor smoothing of 1', () => taylorMetric({ smoothing: 1 })],
    ['random with a seed past 2³²', () => randomMetric({ seed: 2 ** 32 })],
  ])('rejects %s with INVALID_OPTION', (_why, make) => {
    expect(codeOf(make)).toBe('INVALID_OPTION');
  });

  it('the pruner asks the schedule with its step counter', async () => {
    const backend = new ReferenceBackend();
    const registry = registerPruningPlugins(new PluginRegistry(), { ramp: { steps: 2 } });
    const p = new Pruner({ backend, plugins: registry, metric: 'magnitude', schedule: 'linear', ratio: 0.5 });
    const mod = { name: 'm', a: backend.upload(Tensor.f32([1, 8], [1, 2, 3, 4, 5, 6, 7, 8])), b: backend.upload(Tensor.f32([8, 1], [1, 2, 3, 4, 5, 6, 7, 8])) };
    const ratios = [];
    for (let i = 0; i < 3; i++) ratios.push((await p.prune([mod])).ratio);
    expect(ratios).toEqual([0, 0.25, 0.5]);
    expect((await p.prune([mod], { step: 1 })).tensors[0].pruned).toBe(2);
  });
});

describe('metrics', () => {
  function mapState(backend: ReferenceBackend): ImportanceState {
    const m = new Map<string, DeviceTensor>();
    return {
      get: (k) => m.get(k),
      set: (k, t) => {
        const old = m.get(k);
        if (old && old !== t) backend.free(old);
        m.set(k, t);
      },
    };
  }

  it('taylor smooths |θ·g| exponentially across calls', async () => {
    const backend = new ReferenceBackend();
    const theta = [0.5, -2, 3, 0];
    const g1 = [1, 1, -0.25, 4];
    const g2 = [-2, 0.5, 1, 1];
    const state = mapState(backend);
    const metric = taylorMetric({ smoothing: 0.75 });
    const up = (v: number[]) => backend.upload(Tensor.f32([2, 2], v));
    const score = async (g: number[], step: number) => {
      const s = await metric.score({ backend, module: { name: 'm', a: up(theta), b: up(theta), gradA: up(g), gradB: up(g) }, step, state });
      return Array.from(backend.readSync(s.a).data as Float32Array);
    };
    expect(await score(g1, 0)).toEqual([0.5, 2, 0.75, 0]);
    const second = await score(g2, 1);
    const expected = theta.map((t, i) => 0.75 * Math.abs(t * g1[i]) + 0.25 * Math.abs(t * g2[i]));
    second.forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i], 6);
    });
  });

  it('random is reproducible by seed, fresh at every step, and prunes the exact share', async () => {
    const backend = new ReferenceBackend();
    const run = async (seed: number, step: number) => {
      const registry = registerPruningPlugins(new PluginRegistry(), { random: { seed } });
      const q = new Pruner({ backend, plugins: registry, metric: 'random', ratio: 0.5, masks: 'persistent' });
      const mod = {
        name: 'layer.q_proj',
        a: backend.upload(Tensor.f32([4, 16], new Float32Array(64))),
        b: backend.upload(Tensor.f32([16, 4], new Float32Array(64))),
      };
      const report = await q.prune([mod], { step });
      expect(report.tensors.map((t) => t.pruned)).toEqual([32, 32]);
      return Array.from(backend.readSync(q.mask('layer.q_proj', 'A')!).data as Uint8Array).join('');
    };
    expect(await run(7, 0)).toBe(await run(7, 0));
    expect(await run(7, 0)).not.toBe(await run(8, 0));
    expect(await run(7, 0)).not.toBe(await run(7, 1));
  });

  it('registers every built-in under its kind', () => {
    const registry = registerPruningPlugins(new PluginRegistry());
    expect(registry.names('importance')).toEqual(['magnitude', 'wanda', 'lora', 'taylor', 'random']);
    expect(registry.names('grouping')).toEqual(['module', 'row', 'global', '2:4', '4:8']);
    expect(registry.names('schedule')).toEqual(['constant', 'linear', 'cubic', 'every-n-steps', 'once']);
    expect(pruningPlugins().every((p) => typeof p.description === 'string')).toBe(true);
  });
});

describe('a custom importance plugin (docs/pruning.md)', () => {
  const fisher: ImportancePlugin = {
    name: 'acme/fisher',
    kind: 'importance',
    apiVersion: PLUGIN_API_VERSION,
    description: 'squared gradient',
    requires: ['gradients'],
    score({ backend, module }) {
      const { gradA, gradB } = module;
      if (!gradA || !gradB) throw new LoraFuseError('PRUNE_INPUT_MISSING', `acme/fisher needs gradients for ${module.name}.`);
      return { a: backend.kernels.mul(gradA, gradA), b: backend.kernels.mul(gradB, gradB) };
    },
  };

  it('registers next to the built-ins and prunes by its own scores', async () => {
    const registry = registerPruningPlugins(new PluginRegistry());
    registry.register(fisher);
    const backend = new ReferenceBackend();
    const g = [3, -1, 0.5, -2, 0, 4];
    const up = (shape: number[], v: number[]) => backend.upload(Tensor.f32(shape, v));
    const mod = { name: 'm', a: up([1, 6], [1, 1, 1, 1, 1, 1]), b: up([6, 1], [1, 1, 1, 1, 1, 1]), gradA: up([1, 6], g), gradB: up([6, 1], g) };
    await new Pruner({ backend, plugins: registry, metric: 'acme/fisher', ratio: 0.5 }).prune([mod]);
    expect(Array.from(backend.readSync(mod.a).data as Float32Array)).toEqual([1, 0, 0, 1, 0, 1]);
  });
});
