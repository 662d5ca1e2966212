// adapt() against scripts/fixtures/make_adapt_fixtures.py, a PyTorch
// re-implementation of update-and-prune: for each scenario (the lora,
// taylor and wanda metrics, fixed masks, pruning to the initial values,
// norms refreshed per epoch, LoRA dropout with masks from an independent
// Philox), the masks after each of 3 steps are equal and the factors agree
// to 1e-5 relative; with fixed masks, AdamW's moments too. Written against
// the Backend interface so that every backend runs it.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  PLUGIN_API_VERSION,
  PluginRegistry,
  SafetensorsFile,
  adapt,
  loadCheckpoint,
  memoryFolder,
  type AdaptOptions,
  type Backend,
  type DeviceAdapter,
  type SchedulePlugin,
} from '@lorafuse/core';
import { registerPruningPlugins } from '@lorafuse/plugins';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES, fixtureFolder } from './fixtures/index.js';
import { relL2 } from './reference-oracle.js';

/** A scenario as the script's metadata gives it (its fields are adapt's option names). */
interface Scenario {
  readonly name: string;
  readonly metric: string;
  readonly masks: 'regrow' | 'fixed';
  readonly prunedValue: 'zero' | 'initial';
  readonly refresh: 'step' | 'epoch';
  readonly loraDropout: number;
  readonly batchSize: number;
  readonly accumulation: number;
  readonly seed: number;
  /** The ratio of each step. */
  readonly ratios: readonly number[];
}

interface FixtureMeta {
  readonly scalings: readonly number[];
  readonly lr: number;
  readonly decay: number;
  readonly steps: number;
  readonly scenarios: readonly Scenario[];
}

/** Every scenario the script writes: a missing one fails rather than goes unchecked. */
export const ADAPT_ORACLE_SCENARIOS = ['lora', 'taylor', 'wanda', 'fixed', 'initial', 'epoch', 'dropout'] as const;

/** The factors agree to this, relative L2 per factor (measured: see docs/adapt.md). */
const TOLERANCE = 1e-5;

const MODULES = [0, 1].flatMap((l) => ['q_proj', 'v_proj'].map((p) => `model.layers.${l}.self_attn.${p}`));

async function openFixture() {
  const file = await SafetensorsFile.open(await nodeFolder(`${FIXTURES}/adapt`).open('update-and-prune.safetensors'));
  const meta = JSON.parse(file.metadata.fixture) as FixtureMeta;
  const examples = [];
  for (let k = 0; file.has(`ids.${k}`); k++) {
    examples.push({
      ids: Array.from((await file.read(`ids.${k}`)).data as Int32Array),
      targets: Array.from((await file.read(`targets.${k}`)).data as Int32Array),
    });
  }
  return { file, meta, examples };
}

/** The schedule of the scenario's per-step ratios. */
function ratiosSchedule(ratios: readonly number[]): SchedulePlugin {
  return { name: 'fixture-ratios', kind: 'schedule', apiVersion: PLUGIN_API_VERSION, ratio: (step) => ratios[step] };
}

/** Each trained factor with its place in the fixture's flat tensors (A then B of each module of each adapter). */
function factors(adapters: readonly DeviceAdapter[]) {
  let offset = 0;
  return adapters.flatMap((adapter, i) =>
    adapter.modules.flatMap((m) =>
      (['A', 'B'] as const).map((factor) => {
        const param = factor === 'A' ? m.a : m.b;
        const at = { key: `${i}.${m.name}.${factor}`, param, start: offset, end: offset + param.size };
        offset += param.size;
        return at;
      }),
    ),
  );
}

/**
 * One `it` per scenario on `backend()`; `log` receives each scenario's
 * largest relative deviations.
 */
export function adaptOracleSuite(name: string, backend: () => Backend, log: (line: string) => void = () => undefined): void {
  const plugins = registerPruningPlugins(new PluginRegistry());

  describe(`${name}: adapt vs a PyTorch re-implementation of update-and-prune (make_adapt_fixtures.py)`, () => {
    it('has every scenario in the fixture', async () => {
      const { meta } = await openFixture();
      expect(meta.scenarios.map((s) => s.name)).toEqual([...ADAPT_ORACLE_SCENARIOS]);
    });

    for (const scenarioName of ADAPT_ORACLE_SCENARIOS) {
      it(`${scenarioName}: equal masks and factors ≤ ${TOLERANCE} relative after each of 3 steps`, async () => {
        const b = backend();
        const { file, meta, examples } = await openFixture();
        const sc = meta.scenarios.find((s) => s.name === scenarioName)!;
        const model = await CausalLM.load(b, fixtureFolder('llama-tiny'));
        const before = b.memory().tensors;
        const init = new Map<string, Float32Array>();
        const adapters: DeviceAdapter[] = [];
        for (const [i, scaling] of meta.scalings.entries()) {
          const modules = [];
          for (const m of MODULES) {
            const [a, bb] = [await file.read(`init.${i}.${m}.A`), await file.read(`init.${i}.${m}.B`)];
            init.set(`${i}.${m}.A`, a.toFloat32());
            init.set(`${i}.${m}.B`, bb.toFloat32());
            modules.push({ name: m, scaling, a: b.upload(a), b: b.upload(bb) });
          }
          adapters.push({ modules });
        }
        const stepsPerEpoch = Math.ceil(Math.ceil(examples.length / sc.batchSize) / sc.accumulation);
        const constant = sc.ratios.every((r) => r === sc.ratios[0]);
        const folder = memoryFolder();
        const options: AdaptOptions = {
          adapters,
          train: examples,
          padId: 0,
          plugins,
          ratio: sc.ratios[sc.ratios.length - 1],
          metric: sc.metric,
          masks: sc.masks,
          prunedValue: sc.prunedValue,
          refresh: sc.refresh,
          loraDropout: sc.loraDropout,
          batchSize: sc.batchSize,
          accumulation: sc.accumulation,
          epochs: Math.ceil(meta.steps / stepsPerEpoch),
          seed: sc.seed,
          lr: meta.lr,
          epochDecay: meta.decay,
          weightDecay: 0,
          ...(constant ? {} : { schedule: ratiosSchedule(sc.ratios) }),
          ...(sc.masks === 'fixed' ? { checkpoint: { folder, everySteps: 1 } } : {}),
        };
        let worst = 0;
        let worstMoment = 0;
        let checked = 0;
        for await (const event of adapt(b, model, options)) {
          if (event.type !== 'prune') continue;
          const s = event.step;
          expect(event.ratio).toBe(sc.ratios[s - 1]);
          const allTheirs = (await file.read(`${sc.name}/factors${s}`)).toFloat32();
          const allMasks = (await file.read(`${sc.name}/masks${s}`)).data as Uint8Array;
          for (const { key, param, start, end } of factors(adapters)) {
            const ours = (await b.read(param)).toFloat32();
            const theirs = allTheirs.subarray(start, end);
            const mask = allMasks.subarray(start, end);
            // Pruned entries hold exactly the pruned value (0 or the initial one); kept ones never do after training.
            const prunedValue = sc.prunedValue === 'initial' ? init.get(key)! : new Float32Array(ours.length);
            const ourMask = Uint8Array.from(ours, (v, j) => (v === prunedValue[j] ? 1 : 0));
            expect(ourMask, `${sc.name} step ${s} ${key}: mask`).toEqual(mask);
            const deviation = relL2(ours, theirs);
            expect(deviation, `${sc.name} step ${s} ${key}`).toBeLessThan(TOLERANCE);
            worst = Math.max(worst, deviation);
          }
          checked++;
          // A scenario of more than 3 steps (per-epoch norms) is checked on its first 3.
          if (checked === meta.steps) break;
        }
        expect(checked).toBe(meta.steps);
        if (sc.masks === 'fixed') {
          // AdamW's moments after the last step: zero under the masks, PyTorch's elsewhere.
          const { optimizer } = await loadCheckpoint(folder);
          const masks = (await file.read(`${sc.name}/masks${meta.steps}`)).data as Uint8Array;
          const moments = { exp_avg: (await file.read(`${sc.name}/exp_avg`)).toFloat32(), exp_avg_sq: (await file.read(`${sc.name}/exp_avg_sq`)).toFloat32() };
          for (const [index, { key, start, end }] of factors(adapters).entries()) {
            const slot = optimizer[index]!;
            const mask = masks.subarray(start, end);
            for (const [moment, ours] of [
              ['exp_avg', slot.m.toFloat32()],
              ['exp_avg_sq', slot.v.toFloat32()],
            ] as const) {
              const theirs = moments[moment].subarray(start, end);
              for (const [j, bit] of mask.entries()) if (bit) expect(ours[j]).toBe(0);
              const deviation = relL2(ours, theirs);
              expect(deviation, `${sc.name} ${moment} ${key}`).toBeLessThan(TOLERANCE);
              worstMoment = Math.max(worstMoment, deviation);
            }
          }
        }
        const moments = sc.masks === 'fixed' ? `, of the moments ${worstMoment.toExponential(1)}` : '';
        log(`${name} ${sc.name}: largest relative L2 deviation of a factor ${worst.toExponential(1)}${moments}`);
        for (const adapter of adapters) for (const m of adapter.modules) for (const t of [m.a, m.b]) b.free(t);
        expect(b.memory().tensors).toBe(before);
        model.dispose();
      });
    }
  });
}
