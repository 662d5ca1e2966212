// The model parity checks of llama.test.ts (logits, loss, LoRA gradients,
// ten AdamW steps against the transformers/PEFT/PyTorch fixtures), written
// against the async Backend interface so every landed backend runs them.
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  CausalLM,
  SafetensorsFile,
  Tape,
  Tensor,
  adapterParameters,
  freeAdapter,
  isLoraFuseError,
  loadAdapter,
  loadCheckpoint,
  memoryFolder,
  ops,
  train,
  uploadAdapter,
  type TrainEvent,
  type TrainOptions,
  type Backend,
  type DeviceAdapter,
  type DeviceTensor,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES, fixtureFolder } from './fixtures/index.js';
import { relL2, seeded } from './reference-oracle.js';

/** Measured deviations, printed by the caller into its report. */
export type ParityLog = (line: string) => void;

async function openFixture(path: string) {
  return SafetensorsFile.open(await nodeFolder(FIXTURES).open(path));
}

const ids32 = (t: Tensor) => new Tensor('i32', t.shape, Int32Array.from(t.data as BigInt64Array, Number));

async function setup(backend: Backend, model: string, adapters: string[]) {
  const lm = await CausalLM.load(backend, fixtureFolder(model));
  const device: DeviceAdapter[] = [];
  const names: string[] = [];
  for (const a of adapters) {
    const adapter = await loadAdapter(fixtureFolder(a));
    device.push(uploadAdapter(backend, adapter));
    names.push(...adapter.modules.flatMap((m) => [`${a}/${m.name}.lora_A`, `${a}/${m.name}.lora_B`]));
  }
  const dispose = () => {
    for (const a of device) freeAdapter(backend, a);
    lm.dispose();
  };
  return { lm, device, names, dispose };
}

const values = async (backend: Backend, t: DeviceTensor) => (await backend.read(t)).toFloat32();

/** `backend` with `seen` called on the result of every matmul. */
function withMatmulSpy(backend: Backend, seen: (y: DeviceTensor) => void): Backend {
  const kernels = { ...backend.kernels };
  kernels.matmul = (a, b, options) => {
    const y = backend.kernels.matmul(a, b, options);
    seen(y);
    return y;
  };
  return {
    name: backend.name,
    isFallback: backend.isFallback,
    description: backend.description,
    get disposed() {
      return backend.disposed;
    },
    kernels,
    upload: (t) => backend.upload(t),
    read: (t) => backend.read(t),
    free: (t) => backend.free(t),
    sync: () => backend.sync(),
    memory: () => backend.memory(),
    dispose: () => backend.dispose(),
  };
}

/**
 * Registers the parity tests for one backend. `getBackend` returns the
 * backend under test (created by the caller's `beforeAll`); tensors are
 * checked to be freed after each case.
 */
export function modelParitySuite(label: string, getBackend: () => Backend, log: ParityLog = console.log): void {
  describe(`${label}: CausalLM logits vs transformers`, () => {
    // [model, logits key, adapters, input ids key]
    const cases: Array<[string, string, string[], string?]> = [
      ['llama-tiny', 'logits', []],
      ['llama-tiny', 'logits_lora_qv_r8', ['lora-qv-r8']],
      ['llama-tiny', 'logits_lora_all7', ['lora-all7']],
      ['llama3-rope-tiny', 'logits', []],
      ['qwen2-tiny', 'logits', []],
      ['qwen2-tiny', 'logits_lora_qwen2', ['lora-qwen2']],
      ['mistral-tiny', 'logits', []],
      ['qwen3-tiny', 'logits', []],
      ['qwen3-tiny', 'logits_lora_qwen3', ['lora-qwen3']],
      ['gemma3-tiny', 'logits', []],
      ['gemma3-tiny', 'logits_lora_gemma3', ['lora-gemma3']],
      ['gemma3-softcap-tiny', 'logits', []],
      ['gemma3-softcap-tiny', 'logits_lora_gemma3_softcap', ['lora-gemma3-softcap']],
      ['phi3-tiny', 'logits', []],
      ['phi3-tiny', 'logits_lora_phi3', ['lora-phi3']],
      ['phi3-tiny', 'logits_short', [], 'input_ids_short'],
    ];
    it.each(cases.map(([model, key, adapters, ids = 'input_ids']) => ({ model, key, adapters, ids })))('$model $key', async ({ model, key, adapters, ids }) => {
      const backend = getBackend();
      const fixture = await openFixture(`${model}.logits.safetensors`);
      const expected = (await fixture.read(key)).toFloat32();
      const before = backend.memory().tensors;
      const { lm, device, dispose } = await setup(backend, model, adapters);
      const tape = new Tape(backend);
      const { logits } = lm.forward(tape, tape.constant(ids32(await fixture.read(ids))), { adapters: device });
      const mine = await values(backend, logits);
      tape.dispose();
      dispose();
      const err = relL2(mine, expected);
      log(`${label} logits ${model}/${key}: rel L2 ${err.toExponential(2)}`);
      expect(mine.length).toBe(expected.length);
      expect(err).toBeLessThanOrEqual(1e-4);
      expect(backend.memory().tensors).toBe(before);
    });
  });

  describe(`${label}: hidden states without the LM head`, () => {
    it.each([
      ['llama-tiny', 'logits_lora_qv_r8', ['lora-qv-r8']],
      ['qwen2-tiny', 'logits_lora_qwen2', ['lora-qwen2']],
    ])('%s: the head on hiddenStates gives the logits of transformers, and of forward bit for bit', async (model, key, adapters) => {
      const backend = getBackend();
      const fixture = await openFixture(`${model}.logits.safetensors`);
      const before = backend.memory().tensors;
      const { lm, device, dispose } = await setup(backend, model, adapters);
      const tape = new Tape(backend);
      const ids = tape.constant(ids32(await fixture.read('input_ids')));
      const { logits } = lm.forward(tape, ids, { adapters: device });
      const hidden = lm.hiddenStates(tape, ids, { adapters: device });
      expect(hidden.shape).toEqual([...ids.shape, lm.config.hiddenSize]);
      const head = lm.weights.get(lm.config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight')!;
      const headed = await values(backend, ops.matmul(tape, hidden, head, { transB: true }));
      expect(relL2(headed, (await fixture.read(key)).toFloat32())).toBeLessThanOrEqual(1e-4);
      expect(headed).toEqual(await values(backend, logits));
      tape.dispose();
      dispose();
      expect(backend.memory().tensors).toBe(before);
    });
  });

  const gradCases = ['llama-all7', 'qwen2', 'llama-two-adapters', 'qwen3', 'gemma3', 'gemma3-softcap', 'phi3'];
  // The loss from the logits (device targets), and the chunked LM head + loss (host targets, 3 tokens a chunk).
  const headPaths = gradCases.flatMap((name) => [
    [name, 'logits'],
    [name, 'chunked'],
  ]);
  describe(`${label}: loss and LoRA gradients vs PyTorch autograd`, () => {
    it.each(headPaths)('%s, loss %s', async (name, path) => {
      const backend = getBackend();
      const fixture = await openFixture(`grads/${name}.safetensors`);
      const meta = JSON.parse(fixture.metadata.fixture) as { model: string; adapters: string[]; base: string[]; loss: number };
      const { lm, device, names, dispose } = await setup(backend, meta.model, meta.adapters);
      const baseline = backend.memory();
      const tape = new Tape(backend);
      const params = [...device.flatMap(adapterParameters), ...meta.base.map((n) => lm.weights.get(n)!)];
      const paramNames = [...names, ...meta.base.map((n) => `base/${n}`)];
      tape.watch(...params);
      const ids = tape.constant(ids32(await fixture.read('input_ids')));
      const hostTargets = ids32(await fixture.read('targets'));
      const targets = path === 'chunked' ? hostTargets : tape.constant(hostTargets);
      const { loss } = lm.forward(tape, ids, { adapters: device, targets, lossChunkTokens: 3 });
      const lossErr = Math.abs((await values(backend, loss!))[0] - meta.loss);
      const grads = tape.backward(loss!);
      expect(grads.size).toBe(params.length);
      // Only the gradients remain beyond the model and adapters: the tape freed every intermediate.
      const gradBytes = [...grads.values()].reduce((n, g) => n + g.size * 4, 0);
      expect(backend.memory()).toEqual({ tensors: baseline.tensors + grads.size, bytes: baseline.bytes + gradBytes });
      let worst = 0;
      for (const [i, p] of params.entries()) {
        const expected = (await fixture.read(`grad.${paramNames[i]}`)).toFloat32();
        const err = relL2(await values(backend, grads.get(p)!), expected);
        worst = Math.max(worst, err);
        expect(err, paramNames[i]).toBeLessThanOrEqual(1e-4);
      }
      log(`${label} ${name} (${path}): loss abs err ${lossErr.toExponential(2)}, worst grad rel L2 ${worst.toExponential(2)}`);
      expect(lossErr).toBeLessThanOrEqual(1e-5);
      for (const g of grads.values()) backend.free(g);
      expect(backend.memory()).toEqual(baseline);
      dispose();
    });
  });

  describe(`${label}: the chunked LM head and loss against the loss from the logits`, () => {
    // llama-tiny (own lm_head, trained here too) and qwen2-tiny (tied: the embedding is the head).
    it.each([
      ['llama-tiny', 'lora-qv-r8', 'lm_head.weight'],
      ['qwen2-tiny', 'lora-qwen2', 'model.embed_tokens.weight'],
    ])('%s + %s: loss and gradients within 1e-6 relative for every chunk size; the logits never whole', async (model, adapter, head) => {
      // The products of the vocabulary's width, watched: their rows, and the largest.
      const widths: number[][] = [];
      const backend = withMatmulSpy(getBackend(), (y) => widths.at(-1)?.push(y.shape[y.shape.length - 1] === vocab ? y.shape[0] : 0));
      const { lm, device, dispose } = await setup(backend, model, [adapter]);
      const vocab = lm.config.vocabSize;
      const [batch, seq] = [3, 11];
      const rand = seeded(7);
      const idsHost = new Tensor(
        'i32',
        [batch, seq],
        Int32Array.from({ length: batch * seq }, () => Math.floor(rand() * vocab)),
      );
      // About a third of the positions have no target.
      const targetsHost = new Tensor(
        'i32',
        [batch, seq],
        Int32Array.from({ length: batch * seq }, () => (rand() < 0.35 ? -100 : Math.floor(rand() * vocab))),
      );
      const counted = targetsHost.data.filter((t) => t !== -100).length;
      const params = [...device.flatMap(adapterParameters), lm.weights.get(head)!];
      const run = async (targets: Tensor<'i32'> | 'device', chunk?: number) => {
        const tape = new Tape(backend);
        tape.watch(...params);
        const { loss, logits } = lm.forward(tape, tape.constant(idsHost), {
          adapters: device,
          targets: targets === 'device' ? tape.constant(targetsHost) : targets,
          ...(chunk === undefined ? {} : { lossChunkTokens: chunk }),
        });
        expect(logits === undefined).toBe(targets !== 'device');
        const value = (await values(backend, loss!))[0];
        const grads = tape.backward(loss!, { seed: 0.5 });
        const out = await Promise.all(params.map((p) => values(backend, grads.get(p)!)));
        for (const g of grads.values()) backend.free(g);
        return { value, grads: out };
      };
      const whole = await run('device');
      let worst = 0;
      for (const chunk of [1, 4, counted, undefined]) {
        widths.push([]);
        const mine = await run(targetsHost, chunk);
        const rows = widths.at(-1)!.filter((r) => r > 0);
        const rel = Math.abs(mine.value - whole.value) / Math.abs(whole.value);
        expect(rel, `loss, chunk ${chunk}`).toBeLessThanOrEqual(1e-6);
        for (const [i, g] of mine.grads.entries()) {
          const err = relL2(g, whole.grads[i]);
          worst = Math.max(worst, err);
          expect(err, `gradient ${i}, chunk ${chunk}`).toBeLessThanOrEqual(1e-6);
        }
        // Only the counted positions, in chunks: never [tokens, vocab] whole.
        expect(rows.reduce((a, b) => a + b, 0)).toBe(counted);
        expect(Math.max(...rows)).toBe(Math.min(chunk ?? counted, counted));
      }
      log(`${label} ${model}: chunked vs whole-logits loss, worst gradient rel L2 ${worst.toExponential(2)}`);
      dispose();
    });
  });

  describe(`${label}: checkpointed decoder layers`, () => {
    // Llama with two adapters and a trained head; the other architectures' layers (QK norms, Gemma's sliding window,
    // four norms and soft-capped logits, Phi-3's fused projections) with their adapter.
    it.each([
      ['llama-tiny', ['lora-qv-r8', 'lora-all7']],
      ['qwen3-tiny', ['lora-qwen3']],
      ['gemma3-softcap-tiny', ['lora-gemma3-softcap']],
      ['phi3-tiny', ['lora-phi3']],
    ])('%s: give the gradients of the plain pass bit for bit (LoRA dropout), observing each projection once', async (model, adapters) => {
      const backend = getBackend();
      const { lm, device, dispose } = await setup(backend, model, adapters);
      const rand = seeded(3);
      const [batch, seq] = [2, 9];
      const idsHost = new Tensor(
        'i32',
        [batch, seq],
        Int32Array.from({ length: batch * seq }, () => Math.floor(rand() * lm.config.vocabSize)),
      );
      const targets = new Tensor(
        'i32',
        [batch, seq],
        Int32Array.from({ length: batch * seq }, (_, i) => (i % 4 === 0 ? -100 : Math.floor(rand() * lm.config.vocabSize))),
      );
      const head = lm.config.tieWordEmbeddings ? [] : [lm.weights.get('lm_head.weight')!];
      const params = [...device.flatMap(adapterParameters), ...head];
      const run = async (checkpointing: 'none' | 'layers') => {
        const before = backend.memory().tensors;
        const observed: string[] = [];
        const tape = new Tape(backend);
        tape.watch(...params);
        const { loss } = lm.forward(tape, tape.constant(idsHost), {
          adapters: device,
          targets,
          checkpointing,
          dropout: { seed: 9, key: 'step', p: 0.25 },
          onLinearInput: (name) => observed.push(name),
        });
        const value = await values(backend, loss!);
        const grads = tape.backward(loss!, { seed: 0.5 });
        const out = await Promise.all(params.map((p) => values(backend, grads.get(p)!)));
        for (const g of grads.values()) backend.free(g);
        expect(backend.memory().tensors).toBe(before);
        return { value, out, observed };
      };
      const plain = await run('none');
      const checkpointed = await run('layers');
      expect(checkpointed.value).toEqual(plain.value);
      for (const [i, g] of checkpointed.out.entries()) expect(g, `gradient ${i}`).toEqual(plain.out[i]);
      expect(checkpointed.observed).toEqual(plain.observed);
      // Not vacuous: every factor (and the head) got a gradient.
      expect(plain.out.every((g) => g.some((v) => v !== 0))).toBe(true);
      dispose();
    });
  });

  describe(`${label}: AdamW vs torch.optim.AdamW`, () => {
    it.each(gradCases)('%s: W10 − W0 after ten steps', async (name) => {
      const backend = getBackend();
      const fixture = await openFixture(`grads/${name}.safetensors`);
      const meta = JSON.parse(fixture.metadata.fixture) as {
        model: string;
        adapters: string[];
        adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number; steps: number };
      };
      const before = backend.memory().tensors;
      const { lm, device, names, dispose } = await setup(backend, meta.model, meta.adapters);
      const params = device.flatMap(adapterParameters);
      const start = await Promise.all(params.map((p) => values(backend, p)));
      const { lr, betas, eps, weight_decay: weightDecay, steps } = meta.adamw;
      expect(steps).toBe(10);
      const optimizer = new AdamW(backend, params, { lr, beta1: betas[0], beta2: betas[1], eps, weightDecay });
      const idsHost = ids32(await fixture.read('input_ids'));
      const targetsHost = ids32(await fixture.read('targets'));
      for (let step = 0; step < steps; step++) {
        const tape = new Tape(backend);
        tape.watch(...params);
        const { loss } = lm.forward(tape, tape.constant(idsHost), { adapters: device, targets: tape.constant(targetsHost) });
        const grads = tape.backward(loss!);
        optimizer.step(grads);
        for (const g of grads.values()) backend.free(g);
      }
      let worst = 0;
      for (const [i, p] of params.entries()) {
        const delta = (await values(backend, p)).map((w, j) => w - start[i][j]);
        const err = relL2(delta, (await fixture.read(`delta.${names[i]}`)).toFloat32());
        worst = Math.max(worst, err);
        expect(err, names[i]).toBeLessThanOrEqual(1e-3);
      }
      log(`${label} ${name}: AdamW W10−W0 worst rel L2 ${worst.toExponential(2)}`);
      optimizer.dispose();
      dispose();
      expect(backend.memory().tensors).toBe(before);
    });
  });
}

/** Examples of random ids (vocabulary 64) of the given lengths, every token after the first a target. */
export function randomExamples(lengths: readonly number[], seed = 1): { ids: number[]; targets: number[] }[] {
  const rand = seeded(seed);
  return lengths.map((n) => {
    const ids = Array.from({ length: n }, () => 1 + Math.floor(rand() * 63));
    return { ids, targets: ids.map((_, i) => (i + 1 < n ? ids[i + 1] : -100)) };
  });
}

/**
 * Registers the checkpoint test for one backend: a run aborted mid-epoch and
 * resumed from its last checkpoint ends with the same adapter, bit for bit,
 * and the same step losses as the uninterrupted run.
 */
export function resumeSuite(label: string, getBackend: () => Backend): void {
  it(`${label}: abort mid-epoch, resume from the checkpoint, finish = the uninterrupted run, bit for bit`, async () => {
    const backend = getBackend();
    const before = backend.memory().tensors;
    const base: Omit<TrainOptions, 'adapters'> = {
      train: randomExamples([9, 5, 12, 7, 10, 6, 8, 11]),
      validation: randomExamples([8, 6], 2),
      padId: 0,
      batchSize: 2,
      epochs: 2,
      seed: 5,
      schedule: { kind: 'cosine', lr: 2e-2, warmupSteps: 1 },
      adamw: { weightDecay: 0.1 },
      maxGradNorm: 0.5,
    };
    const run = async (extra: Partial<TrainOptions>) => {
      const { lm, device, dispose } = await setup(backend, 'llama-tiny', ['lora-qv-r8']);
      const events: TrainEvent[] = [];
      let error: unknown;
      try {
        for await (const e of train(backend, lm, { ...base, adapters: device, ...extra })) events.push(e);
      } catch (e) {
        error = e;
      }
      const params = await Promise.all(device.flatMap(adapterParameters).map((p) => values(backend, p)));
      dispose();
      return { events, params, error };
    };
    const whole = await run({});
    const folder = memoryFolder();
    const controller = new AbortController();
    const first = await run({
      checkpoint: { folder, everySteps: 1 },
      signal: controller.signal,
      onProgress: (e) => e.type === 'step' && e.step === 5 && controller.abort(),
    });
    expect(isLoraFuseError(first.error, 'ABORTED')).toBe(true);
    const checkpoint = await loadCheckpoint(folder);
    expect(checkpoint.progress).toMatchObject({ step: 5, epoch: 1, stepInEpoch: 1 });
    const rest = await run({ resume: checkpoint });
    const losses = (events: TrainEvent[]) => events.flatMap((e) => (e.type === 'step' ? [[e.step, e.loss]] : e.type === 'eval' ? [[e.epoch, e.loss]] : []));
    expect(losses(rest.events)).toEqual(losses(whole.events).slice(-losses(rest.events).length));
    // The done events agree but for the memory high-water marks: the resumed run did less.
    const done = (events: TrainEvent[]) => ({ ...events.at(-1), memory: undefined });
    expect(done(rest.events)).toEqual(done(whole.events));
    for (const [i, p] of rest.params.entries()) expect(p).toEqual(whole.params[i]);
    // The interrupted run's own parameters differ: the check is not vacuous.
    expect(first.params.some((p, i) => relL2(p, whole.params[i]) > 1e-4)).toBe(true);
    expect(backend.memory().tensors).toBe(before);
  });
}
