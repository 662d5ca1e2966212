// Input-feature norms against PyTorch: scripts/fixtures/make_stats_fixtures.py
// records the input of every projection of the tiny Llama with forward
// pre-hooks (with and without the lora-qv-r8 adapter through PEFT) and sums
// the squares over all tokens in float64.
import { describe, expect, it } from 'vitest';
import { CausalLM, ReferenceBackend, SafetensorsFile, collectInputNorms, loadAdapter, uploadAdapter } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES, fixtureFolder } from './fixtures/index.js';
import { asyncCodeOf } from './error-code.js';

const PROJECTIONS = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];
const MODULES = [0, 1].flatMap((l) => PROJECTIONS.map((p) => `model.layers.${l}.${p}`));

async function setup() {
  const file = await SafetensorsFile.open(await nodeFolder(`${FIXTURES}/stats`).open('input-norms.safetensors'));
  const examples = [];
  for (let k = 0; file.has(`ids.${k}`); k++) examples.push({ ids: Array.from((await file.read(`ids.${k}`)).data as Int32Array) });
  const backend = new ReferenceBackend();
  const model = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
  return { file, examples, backend, model };
}

function expectClose(actual: Float32Array, expected: Float32Array) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let j = 0; j < actual.length; j++) worst = Math.max(worst, Math.abs(actual[j] - expected[j]) / Math.max(1e-6, Math.abs(expected[j])));
  expect(worst).toBeLessThan(1e-5);
}

describe('collectInputNorms vs PyTorch forward hooks', () => {
  it('matches n_j = ‖X_j‖₂ of every projection input, over three unpadded sequences', async () => {
    const { file, examples, backend, model } = await setup();
    expect(examples.map((e) => e.ids.length)).toEqual([5, 9, 3]);
    const norms = await collectInputNorms(backend, model, { modules: MODULES, examples });
    expect([...norms.keys()].sort()).toEqual([...MODULES].sort());
    for (const name of MODULES) expectClose(norms.get(name)!.toFloat32(), (await file.read(`base.${name}`)).toFloat32());
  });

  it('applies the adapters: layer 1 inputs change with lora-qv-r8, as in PEFT', async () => {
    const { file, examples, backend, model } = await setup();
    const adapter = uploadAdapter(backend, await loadAdapter(fixtureFolder('lora-qv-r8')));
    const modules = ['model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj', 'model.layers.1.mlp.down_proj'];
    const progress: number[] = [];
    const norms = await collectInputNorms(backend, model, { modules, examples, adapters: [adapter], onProgress: (done) => progress.push(done) });
    expect(progress).toEqual([1, 2, 3]);
    for (const name of modules) expectClose(norms.get(name)!.toFloat32(), (await file.read(`lora-qv-r8.${name}`)).toFloat32());
  });

  it('refuses unknown modules and empty data, and aborts', async () => {
    const { examples, backend, model } = await setup();
    expect(await asyncCodeOf(() => collectInputNorms(backend, model, { modules: ['model.layers.9.self_attn.q_proj'], examples }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => collectInputNorms(backend, model, { modules: MODULES, examples: [] }))).toBe('INVALID_OPTION');
    expect(await asyncCodeOf(() => collectInputNorms(backend, model, { modules: MODULES, examples, signal: AbortSignal.abort() }))).toBe('ABORTED');
  });
});
