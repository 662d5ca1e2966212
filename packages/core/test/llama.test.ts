// CausalLM on the reference backend: the shared parity suite (logits, loss,
// LoRA gradients, AdamW against the PyTorch fixtures) plus storage-dtype and
// refusal checks.
import { describe, expect, it } from 'vitest';
import { CausalLM, ReferenceBackend, SafetensorsFile, Tape, Tensor, embeddingScale, openModelFolder, type ModelConfig } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { FIXTURES, fixtureFolder } from './fixtures/index.js';
import { asyncCodeOf, codeOf } from './error-code.js';
import { relL2 } from './reference-oracle.js';
import { modelParitySuite } from './model-parity-suite.js';

async function openFixture(path: string) {
  return SafetensorsFile.open(await nodeFolder(FIXTURES).open(path));
}

const ids32 = (t: Tensor) => new Tensor('i32', t.shape, Int32Array.from(t.data as BigInt64Array, Number));

describe('CausalLM forward: storage dtypes and refusals', () => {
  it('keeps bf16 weights as bf16 on the device, with the logits of the same weights widened to f32', async () => {
    const fixture = await openFixture('llama-tiny.logits.safetensors');
    const backend = new ReferenceBackend();
    const checkpoint = await openModelFolder(fixtureFolder('llama-tiny-bf16'));
    const store = checkpoint.weights;
    const widen = (t: Tensor) => Tensor.f32(t.shape, t.toFloat32());
    const widened = {
      config: checkpoint.config,
      weights: {
        tensors: store.tensors,
        metadata: store.metadata,
        has: (n: string) => store.has(n),
        info: (n: string) => store.info(n),
        read: async (n: string) => widen(await store.read(n)),
      },
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

  it('refuses ids that are not [batch, seq] i32 and unknown adapter modules; runs sequences beyond a sliding window', async () => {
    const backend = new ReferenceBackend();
    const mistral = await CausalLM.load(backend, fixtureFolder('mistral-tiny'));
    const tape = new Tape(backend);
    const ids = (n: number) => tape.constant(new Tensor('i32', [1, n], new Int32Array(n)));
    expect(codeOf(() => mistral.forward(tape, tape.constant(new Tensor('i32', [3], new Int32Array(3)))))).toBe('SHAPE_MISMATCH');
    expect(mistral.config.slidingWindow).toBe(64);
    expect(codeOf(() => mistral.forward(tape, ids(65)))).toBeUndefined();
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

describe("Gemma's embedding scale", () => {
  it('is √hidden in float32, rounded to the embedding dtype as transformers rounds it', () => {
    // transformers' own note: in bfloat16, sqrt(3072) = 55.4256 becomes 55.5.
    expect(embeddingScale(3072, 'bf16')).toBe(55.5);
    expect(embeddingScale(3072, 'f32')).toBe(Math.fround(Math.sqrt(3072)));
    // torch.tensor(3072 ** 0.5).to(torch.float16) is 55.4375.
    expect(embeddingScale(3072, 'f16')).toBe(55.4375);
    expect(embeddingScale(2304, 'bf16')).toBe(48);
  });
});

describe('the fixtures of Qwen3, Gemma 3 and Phi-3 are sharp', () => {
  // Each feature, read wrongly, moves the logits far beyond the parity tolerance (1e-4).
  const cases: Array<[string, string, string, (c: ModelConfig) => Partial<ModelConfig>]> = [
    ['qwen3-tiny', 'logits', 'no sliding window', () => ({ slidingWindow: null, layerTypes: ['full_attention', 'full_attention'] })],
    ['qwen3-tiny', 'logits', 'no q/k norm', () => ({ qkNorm: false })],
    ['gemma3-tiny', 'logits', 'no sliding window', (c) => ({ layerTypes: c.layerTypes.map(() => 'full_attention' as const) })],
    ['gemma3-tiny', 'logits', "the global layers' RoPE on the local ones", () => ({ localRope: null })],
    ['gemma3-tiny', 'logits', 'no linear RoPE scaling on the global layer', () => ({ ropeScaling: { type: 'default' } })],
    ['gemma3-tiny', 'logits', 'scores scaled by 1/√head_dim', (c) => ({ attentionScale: 1 / Math.sqrt(c.headDim) })],
    ['gemma3-softcap-tiny', 'logits', 'no final soft-capping', () => ({ finalLogitSoftcapping: null })],
    [
      'phi3-tiny',
      'logits',
      'the short LongRoPE factors past the pretraining length',
      (c) => ({
        ropeScaling: { ...c.ropeScaling, longFactor: (c.ropeScaling as { readonly shortFactor: readonly number[] }).shortFactor } as ModelConfig['ropeScaling'],
      }),
    ],
    [
      'phi3-tiny',
      'logits_short',
      'no LongRoPE attention factor',
      (c) => ({ ropeScaling: { ...c.ropeScaling, attentionFactor: 1 } as ModelConfig['ropeScaling'] }),
    ],
    ['phi3-tiny', 'logits', 'no sliding window', (c) => ({ layerTypes: c.layerTypes.map(() => 'full_attention' as const) })],
  ];
  it.each(cases.map(([model, key, what, edit]) => ({ model, key, what, edit })))('$model: $what', async ({ model, key, edit }) => {
    const fixture = await openFixture(`${model}.logits.safetensors`);
    const backend = new ReferenceBackend();
    const checkpoint = await openModelFolder(fixtureFolder(model));
    const lm = await CausalLM.load(backend, { ...checkpoint, config: { ...checkpoint.config, ...edit(checkpoint.config) } });
    const tape = new Tape(backend);
    const ids = key === 'logits_short' ? 'input_ids_short' : 'input_ids';
    const { logits } = lm.forward(tape, tape.constant(ids32(await fixture.read(ids))));
    const err = relL2(backend.readSync(logits).toFloat32(), (await fixture.read(key)).toFloat32());
    tape.dispose();
    lm.dispose();
    expect(err).toBeGreaterThan(1e-2);
  });
});

modelParitySuite('reference', () => new ReferenceBackend());
