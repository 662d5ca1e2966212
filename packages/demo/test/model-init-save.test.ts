// initModelCheckpoint and saveModelFolder (core, used by the demo's base
// model): the initialisation is checked against Box–Muller written here over
// the pinned Philox uniforms, and a saved folder must reopen bit for bit.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  initModelCheckpoint,
  memoryFolder,
  openModelFolder,
  parseModelConfig,
  philoxUniform,
  referenceBackend,
  rngStreamId,
  saveModelFolder,
  Tensor,
  Tape,
} from '@lorafuse/core';
import { asyncCodeOf } from '../../core/test/error-code.js';

const config = parseModelConfig({
  model_type: 'llama',
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  intermediate_size: 24,
  vocab_size: 40,
  tie_word_embeddings: false,
  initializer_range: 0.05,
  max_position_embeddings: 32,
});

/** Standard normal number i of a Philox stream, by Box–Muller on the uniforms (2i, 2i+1) of its pair. */
function normal(seed: number, stream: number, i: number): number {
  const pair = i - (i % 2);
  const r = Math.sqrt(-2 * Math.log(1 - philoxUniform(seed, stream, pair)));
  const angle = 2 * Math.PI * philoxUniform(seed, stream, pair + 1);
  return i % 2 === 0 ? r * Math.cos(angle) : r * Math.sin(angle);
}

describe('initModelCheckpoint', () => {
  it('draws matrices from normal(0, initializer_range) per tensor name, norms one, in f32', async () => {
    const { weights } = await initModelCheckpoint(config, { seed: 7 });
    const names = weights.tensors.map((t) => t.name);
    expect(names).toContain('lm_head.weight');
    for (const name of ['model.embed_tokens.weight', 'model.layers.1.mlp.down_proj.weight', 'lm_head.weight']) {
      const t = await weights.read(name);
      expect(t.dtype).toBe('f32');
      const v = t.toFloat32();
      const stream = rngStreamId(name);
      for (const i of [0, 1, 2, 101, v.length - 1]) expect(v[i]).toBeCloseTo(Math.fround(0.05 * normal(7, stream, i)), 7);
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
      expect(Math.abs(mean)).toBeLessThan(0.01);
      expect(std).toBeGreaterThan(0.04);
      expect(std).toBeLessThan(0.06);
    }
    expect([...(await weights.read('model.layers.0.input_layernorm.weight')).toFloat32()]).toEqual(new Array(16).fill(1));
    expect([...(await weights.read('model.norm.weight')).toFloat32()]).toEqual(new Array(16).fill(1));
  });

  it('gives the same weights for the same seed and other ones for another seed', async () => {
    const read = async (seed: number) =>
      (await (await initModelCheckpoint(config, { seed })).weights.read('model.layers.0.self_attn.q_proj.weight')).toFloat32();
    expect(await read(3)).toEqual(await read(3));
    expect(await read(4)).not.toEqual(await read(3));
  });

  it('takes an explicit std and refuses a negative one', async () => {
    const v = (await (await initModelCheckpoint(config, { std: 0 })).weights.read('lm_head.weight')).toFloat32();
    expect(v.every((x) => x === 0)).toBe(true);
    expect(await asyncCodeOf(() => initModelCheckpoint(config, { std: -1 }))).toBe('INVALID_OPTION');
  });
});

describe('saveModelFolder', () => {
  it('writes a folder that opens with the same config and bit-identical weights and logits', async () => {
    const checkpoint = await initModelCheckpoint(config, { seed: 1 });
    const weights = new Map<string, Tensor>();
    for (const t of checkpoint.weights.tensors) weights.set(t.name, await checkpoint.weights.read(t.name));
    weights.set('extra.unused', Tensor.f32([1], [5]));
    const folder = memoryFolder();
    await saveModelFolder(folder, config, weights);
    expect([...folder.files.keys()].sort()).toEqual(['config.json', 'model.safetensors']);
    const reopened = await openModelFolder(folder);
    expect(reopened.config).toEqual(config);
    expect(reopened.weights.has('extra.unused')).toBe(false);
    for (const [name, t] of weights) if (name !== 'extra.unused') expect((await reopened.weights.read(name)).data).toEqual(t.data);
    const backend = await referenceBackend().create();
    const logits = async (source: typeof checkpoint) => {
      const model = await CausalLM.load(backend, source);
      const tape = new Tape(backend);
      const out = (await backend.read(model.forward(tape, tape.constant(new Tensor('i32', [1, 5], Int32Array.from([1, 5, 9, 3, 2])))).logits)).toFloat32();
      tape.dispose();
      model.dispose();
      return out;
    };
    expect(await logits(reopened)).toEqual(await logits(checkpoint));
  });

  it('refuses weights that do not fit the config, before writing anything', async () => {
    const folder = memoryFolder();
    expect(await asyncCodeOf(() => saveModelFolder(folder, config, new Map()))).toBe('MODEL_WEIGHTS_MISSING');
    const checkpoint = await initModelCheckpoint(config);
    const weights = new Map<string, Tensor>();
    for (const t of checkpoint.weights.tensors) weights.set(t.name, await checkpoint.weights.read(t.name));
    weights.set('model.norm.weight', Tensor.f32([3], [1, 1, 1]));
    expect(await asyncCodeOf(() => saveModelFolder(folder, config, weights))).toBe('SHAPE_MISMATCH');
    expect(folder.files.size).toBe(0);
  });
});
