// mergeIntoBase against PEFT: a model with an adapter folded into its
// weights and no adapter applied must give the logits PyTorch computed for
// the base model WITH the adapter (fixture `logits_<adapter>`), ≤ 1e-4,
// including after a round trip through saveModelFolder and openModelFolder.
import { describe, expect, it } from 'vitest';
import {
  CausalLM,
  ReferenceBackend,
  SafetensorsFile,
  Tape,
  Tensor,
  loadAdapter,
  memoryFolder,
  mergeIntoBase,
  openModelFolder,
  saveModelFolder,
} from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { asyncCodeOf } from './error-code.js';
import { FIXTURES } from './fixtures/index.js';

async function fixtureLogits(model: string, key: string) {
  const file = await SafetensorsFile.open(await nodeFolder(FIXTURES).open(`${model}.logits.safetensors`));
  const ids = await file.read('input_ids');
  return { ids: Array.from(ids.data as BigInt64Array, Number), shape: ids.shape, logits: (await file.read(key)).toFloat32() };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('mergeIntoBase', () => {
  it.each([
    ['llama-tiny', 'lora-qv-r8', 'logits_lora_qv_r8'],
    ['llama-tiny', 'lora-all7', 'logits_lora_all7'],
    ['qwen2-tiny', 'lora-qwen2', 'logits_lora_qwen2'],
    ['qwen3-tiny', 'lora-qwen3', 'logits_lora_qwen3'],
    ['gemma3-tiny', 'lora-gemma3', 'logits_lora_gemma3'],
    // LoRA on Phi-3's fused qkv_proj and gate_up_proj folds into the fused weights.
    ['phi3-tiny', 'lora-phi3', 'logits_lora_phi3'],
  ])('%s + %s folded in gives PEFT’s adapted logits (through a saved folder)', async (model, adapter, key) => {
    const checkpoint = await openModelFolder(nodeFolder(`${FIXTURES}/${model}`));
    const lora = await loadAdapter(nodeFolder(`${FIXTURES}/${adapter}`));
    const progress: number[] = [];
    const weights = await mergeIntoBase(checkpoint, [lora], { onProgress: ({ done }) => progress.push(done) });
    expect(progress.at(-1)).toBe(weights.size);
    const folder = memoryFolder();
    await saveModelFolder(folder, checkpoint.config, weights);

    const backend = new ReferenceBackend();
    const lm = await CausalLM.load(backend, folder);
    const { ids, shape, logits } = await fixtureLogits(model, key);
    const tape = new Tape(backend);
    const mine = (await backend.read(lm.forward(tape, tape.constant(new Tensor('i32', shape, Int32Array.from(ids)))).logits)).toFloat32();
    tape.dispose();
    lm.dispose();
    expect(maxAbsDiff(mine, logits)).toBeLessThanOrEqual(1e-4);
    // Sharp: the base model's logits are far from the adapted ones.
    expect(maxAbsDiff((await fixtureLogits(model, 'logits')).logits, logits)).toBeGreaterThan(0.1);
  });

  it('keeps bf16 weights in bf16', async () => {
    const checkpoint = await openModelFolder(nodeFolder(`${FIXTURES}/llama-tiny-bf16`));
    const weights = await mergeIntoBase(checkpoint, [await loadAdapter(nodeFolder(`${FIXTURES}/lora-bf16`))]);
    expect(weights.get('model.layers.0.self_attn.q_proj.weight')!.dtype).toBe('bf16');
  });

  it('refuses adapters that do not fit the model', async () => {
    const llama = await openModelFolder(nodeFolder(`${FIXTURES}/llama-tiny`));
    const lora = await loadAdapter(nodeFolder(`${FIXTURES}/lora-all7`));
    const [q, k] = lora.modules; // q_proj maps 32 → 32, k_proj 32 → 16
    const only = (m: typeof q) => [{ ...lora, modules: [m] }];
    expect(await asyncCodeOf(() => mergeIntoBase(llama, only({ ...q, name: 'model.layers.9.self_attn.q_proj' })))).toBe('MERGE_INCOMPATIBLE');
    expect(await asyncCodeOf(() => mergeIntoBase(llama, only({ ...k, name: q.name })))).toBe('SHAPE_MISMATCH');
  });
});
