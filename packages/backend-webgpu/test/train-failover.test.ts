// Issue 9 acceptance: the WebGPU device is destroyed mid-training (Dawn);
// trainWithFailover moves the run to wasm from the last completed step. The
// event log shows one switch and every step exactly once, and the final loss
// matches an undisturbed WebGPU run within 1 %.
import {
  CausalLM,
  adapterParameters,
  evaluateLoss,
  loadAdapter,
  train,
  trainWithFailover,
  uploadAdapter,
  type Backend,
  type FailoverEvent,
  type TrainOptions,
  type TrainSession,
} from '@lorafuse/core';
import { wasmBackend } from '@lorafuse/backend-wasm';
import { describe, expect, it } from 'vitest';
import { fixtureFolder } from '../../core/test/fixtures/index.js';
import { randomExamples } from '../../core/test/model-parity-suite.js';
import { webgpuBackend } from '../src/webgpu-backend.js';
import { acquireDawnDevice } from './acquire-device.js';

const STEPS = 12;
const LOST_AFTER = 5;
const data = randomExamples(Array.from({ length: 2 * STEPS }, (_, i) => 6 + (i % 7)));
const base: Omit<TrainOptions, 'adapters'> = {
  train: data,
  padId: 0,
  batchSize: 2,
  seed: 3,
  schedule: { kind: 'cosine', lr: 2e-2, warmupSteps: 2 },
  maxGradNorm: 1,
};

async function load(backend: Backend): Promise<TrainSession> {
  const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
  return { model, adapters: [uploadAdapter(backend, await loadAdapter(fixtureFolder('lora-qv-r8')))] };
}

const score = async (backend: Backend, session: TrainSession) =>
  (await evaluateLoss(backend, session.model, data, { adapters: session.adapters, padId: 0 })).loss;

const first = await acquireDawnDevice('trainWithFailover');

if (first) {
  describe('trainWithFailover: WebGPU device lost mid-training → wasm', () => {
    it(`destroys the device after step ${LOST_AFTER}: one switch, no step twice, final loss within 1 % of an undisturbed run`, async () => {
      const steady = await webgpuBackend({ handle: first }).create();
      const undisturbed = await load(steady);
      for await (const event of train(steady, undisturbed.model, { ...base, adapters: undisturbed.adapters })) void event;
      const expected = await score(steady, undisturbed);
      await steady.dispose();
      first.device.destroy();

      const second = (await acquireDawnDevice('trainWithFailover'))!;
      const gpu = await webgpuBackend({ handle: second }).create();
      const wasm = await wasmBackend().create();
      const sessions: { backend: Backend; session: TrainSession }[] = [];
      const events: FailoverEvent[] = [];
      const run = trainWithFailover([gpu, wasm], {
        ...base,
        load: async (backend) => {
          const session = await load(backend);
          sessions.push({ backend, session });
          return session;
        },
        onProgress: (e) => {
          if (e.type === 'step' && e.step === LOST_AFTER) second.device.destroy();
        },
      });
      const yielded: FailoverEvent[] = [];
      for await (const e of run) yielded.push(e);
      events.push(...yielded);

      const switches = events.filter((e) => e.type === 'backend-switch');
      expect(switches).toEqual([{ type: 'backend-switch', from: 'webgpu', to: 'wasm', step: LOST_AFTER, reason: expect.stringMatching(/lost|destroy/i) }]);
      const steps = events.flatMap((e) => (e.type === 'step' ? [e.step] : []));
      expect(steps).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
      expect(events.findIndex((e) => e.type === 'backend-switch')).toBe(LOST_AFTER);
      // Finished on wasm: its memory high-water marks come with the done event.
      expect(events.at(-1)).toEqual({ type: 'done', steps: STEPS, epochs: 1, reason: 'completed', memory: wasm.memoryPeaks!() });
      expect(gpu.disposed).toBe(true);

      const last = sessions.at(-1)!;
      expect(last.backend).toBe(wasm);
      const final = await score(wasm, last.session);
      console.log(
        `failover: ${JSON.stringify(switches)} final loss ${final} vs undisturbed ${expected} (rel ${(Math.abs(final - expected) / expected).toExponential(2)})`,
      );
      expect(Math.abs(final - expected) / expected).toBeLessThan(0.01);
      // The run trained: the final loss is well below the untrained one.
      const fresh = await load(wasm);
      expect(final).toBeLessThan(0.95 * (await score(wasm, fresh)));
      expect(adapterParameters(last.session.adapters[0]).length).toBeGreaterThan(0);
      await wasm.dispose();
    });
  });
} else {
  describe.skip('trainWithFailover on Dawn (no adapter)', () => it('needs a WebGPU adapter', () => undefined));
}
