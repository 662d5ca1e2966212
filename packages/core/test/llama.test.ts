// CausalLM's forward pass on the reference backend against the PyTorch /
// transformers / PEFT logits fixtures, and its loss and LoRA gradients
// against the PyTorch autograd fixtures of make_grad_fixtures.py.
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  CausalLM,
  ReferenceBackend,
  SafetensorsFile,
  Tape,
  Tensor,
  adapterParameters,
  freeAdapter,
  loadAdapter,
  openModelFolder,
  uploadAdapter,
  type DeviceAdapter,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES, fixtureFolder } from './fixtures/index.js';
import { asyncCodeOf, codeOf } from './error-code.js';
import { relL2 } from './reference-oracle.js';

async function openFixture(path: string) {
  return SafetensorsFile.open(await nodeFolder(FIXTURES).open(path));
}

const ids32 = (t: Tensor) => new Tensor('i32', t.shape, Int32Array.from(t.data as BigInt64Array, Number));

async function setup(model: string, adapters: string[]) {
  const backend = new ReferenceBackend();
  const lm = await CausalLM.load(backend, fixtureFolder(model));
  const device: DeviceAdapter[] = [];
  const names: string[] = [];
  for (const a of adapters) {
    const adapter = await loadAdapter(fixtureFolder(a));
    device.push(uploadAdapter(backend, adapter));
    names.push(...adapter.modules.flatMap((m) => [`${a}/${m.name}.lora_A`, `${a}/${m.name}.lora_B`]));
  }
  return { backend, lm, device, names };
}

describe('CausalLM forward vs transformers logits', () => {
  const cases: Array<[string, string, string, string[]]> = [
    ['Llama', 'llama-tiny', 'logits', []],
    ['Llama + LoRA r=8 on q,v', 'llama-tiny', 'logits_lora_qv_r8', ['lora-qv-r8']],
    ['Llama + LoRA on all seven projections', 'llama-tiny', 'logits_lora_all7', ['lora-all7']],
    ['Llama with Llama 3 RoPE scaling', 'llama3-rope-tiny', 'logits', []],
    ['Qwen2 (q/k/v biases, tied embeddings, GQA)', 'qwen2-tiny', 'logits', []],
    ['Qwen2 + LoRA', 'qwen2-tiny', 'logits_lora_qwen2', ['lora-qwen2']],
    ['Mistral', 'mistral-tiny', 'logits', []],
  ];
  it.each(cases.map(([name, model, key, adapters]) => ({ name, model, key, adapters })))('$name', async ({ model, key, adapters }) => {
    const fixture = await openFixture(`${model}.logits.safetensors`);
    const expected = (await fixture.read(key)).toFloat32();
    const { backend, lm, device } = await setup(model, adapters);
    const tape = new Tape(backend);
    const ids = tape.constant(ids32(await fixture.read('input_ids')));
    const { logits } = lm.forward(tape, ids, { adapters: device });
    const mine = backend.readSync(logits).toFloat32();
    tape.dispose();
    expect(mine.length).toBe(expected.length);
    expect(relL2(mine, expected)).toBeLessThanOrEqual(1e-4);
    for (const a of device) freeAdapter(backend, a);
    lm.dispose();
    expect(backend.memory().tensors).toBe(0);
  });

  it('keeps bf16 weights as bf16 on the device, with the logits of the same weights widened to f32', async () => {
    const fixture = await openFixture('llama-tiny.logits.safetensors');
    const backend = new ReferenceBackend();
    const checkpoint = await openModelFolder(fixtureFolder('llama-tiny-bf16'));
    const store = checkpoint.weights;
    const widen = (t: Tensor) => Tensor.f32(t.shape, t.toFloat32());
    const widened = {
      config: checkpoint.config,
      weights: { tensors: store.tensors, metadata: store.metadata, has: (n: string) => store.has(n), info: (n: string) => store.info(n), read: async (n: string) => widen(await store.read(n)) },
    };
    const logitsOf = async (lm: CausalLM) => {
      const tape = new Tape(backend);
      const { logits } = lm.forward(tape, tape.constant(ids32(await fixture.read('input_ids'))));
      const values = backend.readSync(logits).toFloat32();
      tape.dispose();
      lm.dispose();
      return values;
    };
    const bf16 = await CausalLM.load(backend, checkpoint);
    expect(bf16.weights.get('model.layers.0.self_attn.q_proj.weight')!.dtype).toBe('bf16');
    expect(bf16.weights.get('model.embed_tokens.weight')!.dtype).toBe('bf16');
    const mine = await logitsOf(bf16);
    expect(relL2(mine, await logitsOf(await CausalLM.load(backend, widened)))).toBeLessThanOrEqual(1e-6);
    // The bf16 rounding of the weights moves the logits far from the f32 model's (a sharp check).
    expect(relL2(mine, (await fixture.read('logits')).toFloat32())).toBeGreaterThan(1e-3);
  });

  it('refuses ids that are not [batch, seq] i32, unknown adapter modules, and sequences beyond a sliding window', async () => {
    const backend = new ReferenceBackend();
    const mistral = await CausalLM.load(backend, fixtureFolder('mistral-tiny'));
    const tape = new Tape(backend);
    const ids = (n: number) => tape.constant(new Tensor('i32', [1, n], new Int32Array(n)));
    expect(codeOf(() => mistral.forward(tape, tape.constant(new Tensor('i32', [3], new Int32Array(3)))))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => mistral.forward(tape, ids(65)))).toBe('MODEL_UNSUPPORTED');
    expect(codeOf(() => mistral.forward(tape, ids(64)))).toBeUndefined();
    const a = tape.constant(new Tensor('f32', [1, 32]));
    const b = tape.constant(new Tensor('f32', [32, 1]));
    const stray = { modules: [{ name: 'model.layers.2.self_attn.q_proj', a, b, scaling: 1 }] };
    expect(codeOf(() => mistral.forward(tape, ids(4), { adapters: [stray] }))).toBe('INVALID_OPTION');
    tape.dispose();
    mistral.dispose();
    expect(backend.memory().tensors).toBe(0);
  });

  it('refuses a model larger than the backend can hold, before uploading', async () => {
    const backend = new ReferenceBackend();
    const small = Object.assign(Object.create(backend) as ReferenceBackend, { maxBytes: 1000 });
    expect(await asyncCodeOf(() => CausalLM.load(small, fixtureFolder('llama-tiny')))).toBe('OUT_OF_MEMORY');
    expect(backend.memory().tensors).toBe(0);
  });
});

describe('CausalLM loss and gradients vs PyTorch autograd (float64)', () => {
  it.each(['llama-all7', 'qwen2', 'llama-two-adapters'])('%s', async (name) => {
    const fixture = await openFixture(`grads/${name}.safetensors`);
    const meta = JSON.parse(fixture.metadata.fixture) as { model: string; adapters: string[]; base: string[]; loss: number };
    const { backend, lm, device, names } = await setup(meta.model, meta.adapters);
    const baseline = backend.memory();
    const tape = new Tape(backend);
    // LoRA factors, plus base weights where the case trains some (full-parameter training; qwen2's tied embedding).
    const params = [...device.flatMap(adapterParameters), ...meta.base.map((n) => lm.weights.get(n)!)];
    const paramNames = [...names, ...meta.base.map((n) => `base/${n}`)];
    tape.watch(...params);
    const ids = tape.constant(ids32(await fixture.read('input_ids')));
    const targets = tape.constant(ids32(await fixture.read('targets')));
    const { loss } = lm.forward(tape, ids, { adapters: device, targets });
    expect(Math.abs(backend.readSync(loss!).toFloat32()[0] - meta.loss)).toBeLessThanOrEqual(1e-5);
    const grads = tape.backward(loss!);
    expect(grads.size).toBe(params.length);
    // Only the gradients remain beyond the model and adapters: the tape freed every intermediate.
    const gradBytes = [...grads.values()].reduce((n, g) => n + g.size * 4, 0);
    expect(backend.memory()).toEqual({ tensors: baseline.tensors + grads.size, bytes: baseline.bytes + gradBytes });
    for (const [i, p] of params.entries()) {
      const expected = (await fixture.read(`grad.${paramNames[i]}`)).toFloat32();
      expect(relL2(backend.readSync(grads.get(p)!).toFloat32(), expected), paramNames[i]).toBeLessThanOrEqual(1e-4);
    }
    for (const g of grads.values()) backend.free(g);
    expect(backend.memory()).toEqual(baseline);
  });
});

describe('AdamW on the LoRA factors vs torch.optim.AdamW', () => {
  it.each(['llama-all7', 'qwen2', 'llama-two-adapters'])('%s: W10 − W0 after ten steps at lr 1e-2 with weight decay', async (name) => {
    const fixture = await openFixture(`grads/${name}.safetensors`);
    const meta = JSON.parse(fixture.metadata.fixture) as { model: string; adapters: string[]; adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number; steps: number } };
    const { backend, lm, device, names } = await setup(meta.model, meta.adapters);
    const params = device.flatMap(adapterParameters);
    const start = params.map((p) => backend.readSync(p).toFloat32());
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
    for (const [i, p] of params.entries()) {
      const delta = backend.readSync(p).toFloat32().map((w, j) => w - start[i][j]);
      const expected = (await fixture.read(`delta.${names[i]}`)).toFloat32();
      expect(relL2(delta, expected), names[i]).toBeLessThanOrEqual(1e-3);
    }
    optimizer.dispose();
    for (const a of device) freeAdapter(backend, a);
    lm.dispose();
    expect(backend.memory().tensors).toBe(0);
  });
});
