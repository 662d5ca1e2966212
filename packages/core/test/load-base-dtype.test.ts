// baseDtype: a checkpoint's frozen matrices converted as they load. The
// conversion is checked against PyTorch's Tensor.to (the cast fixture:
// edge cases, rounding ties, values over the whole f32 range), then on a
// model: every matrix in the asked dtype with the bits of that conversion,
// norms kept f32, and the memory a plan counts halved.
import { describe, expect, it } from 'vitest';
import { CausalLM, ReferenceBackend, SafetensorsFile, planMemory, type Tensor } from '@lorafuse/core';
import { fileSource } from '@lorafuse/core/node';
import { asyncCodeOf } from './error-code.js';
import { FIXTURES, fixtureFolder } from './fixtures/index.js';

const cast = await SafetensorsFile.open(await fileSource(`${FIXTURES}/cast/f32-to-half.safetensors`));
const input = await cast.read('f32');

describe('f32 to bf16 and f16, as torch converts', () => {
  for (const dtype of ['bf16', 'f16'] as const) {
    it(`castFloat('${dtype}') gives torch's bits for every one of ${input.size} values`, async () => {
      const ours = input.castFloat(dtype).data as Uint16Array;
      const torch = (await cast.read(dtype)).data as Uint16Array;
      const differing = ours.findIndex((bits, i) => bits !== torch[i]);
      expect(differing, `first difference at ${differing}: ${(input.data as Float32Array)[differing]}`).toBe(-1);
    });
  }
});

describe('CausalLM.load with baseDtype', () => {
  const matrices = (lm: CausalLM) => [...lm.weights].filter(([, t]) => t.shape.length === 2);

  it('holds an f32 checkpoint as bf16: each matrix is the rounding of the stored one, norms stay f32', async () => {
    const backend = new ReferenceBackend();
    const f32 = await CausalLM.load(backend, fixtureFolder('llama-tiny'));
    const bf16 = await CausalLM.load(backend, fixtureFolder('llama-tiny'), { baseDtype: 'bf16' });
    for (const [name, t] of bf16.weights) {
      const stored = (await backend.read(f32.weights.get(name)!)) as Tensor;
      if (t.shape.length === 1) {
        expect(t.dtype, name).toBe('f32');
        continue;
      }
      expect(t.dtype, name).toBe('bf16');
      expect((await backend.read(t)).data, name).toEqual(stored.castFloat('bf16').data);
    }
    const bytes = (lm: CausalLM) => matrices(lm).reduce((n, [, t]) => n + t.size * (t.dtype === 'f32' ? 4 : 2), 0);
    expect(bytes(bf16) * 2).toBe(bytes(f32));
    // The plan of the same run counts the same halving.
    const plan = (baseDtype: 'f32' | 'bf16') => planMemory(f32.config, { baseDtype, batchSize: 1, maxLength: 8 }).breakdown.weights;
    expect(plan('f32') - plan('bf16')).toBe(bytes(f32) / 2);
    f32.dispose();
    bf16.dispose();
  });

  it('widens a bf16 checkpoint to f32 exactly, and refuses an unknown dtype with INVALID_OPTION', async () => {
    const backend = new ReferenceBackend();
    const stored = await CausalLM.load(backend, fixtureFolder('llama-tiny-bf16'));
    const wide = await CausalLM.load(backend, fixtureFolder('llama-tiny-bf16'), { baseDtype: 'f32' });
    for (const [name, t] of matrices(stored)) {
      expect(t.dtype).toBe('bf16');
      expect((await backend.read(wide.weights.get(name)!)).data).toEqual((await backend.read(t)).toFloat32());
    }
    expect(await asyncCodeOf(() => CausalLM.load(backend, fixtureFolder('llama-tiny'), { baseDtype: 'f8' as 'f16' }))).toBe('INVALID_OPTION');
    stored.dispose();
    wide.dispose();
    expect(backend.memory().tensors).toBe(0);
  });
});
