import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, expectedModelWeights, parseModelConfig, writeSafetensors } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import { lcg } from './lcg.js';

/**
 * Writes a small random byte-level Llama (vocab 259, hidden 32, 2 layers,
 * GQA, tied embeddings) as a Hugging Face folder, so that commands taking
 * JSONL data run on it in milliseconds. Matrices are uniform in ±0.1 from a
 * seeded LCG, norms (and biases) one; the weight named `poison`, if any, is
 * all NaN. `vocabSize` makes room for another tokenizer put in the folder;
 * `config` overrides config.json's entries (another `model_type`, say).
 */
export async function writeByteModel(dir: string, seed = 11, poison?: string, vocabSize = 259, config: Record<string, unknown> = {}): Promise<string> {
  const json = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    vocab_size: vocabSize,
    max_position_embeddings: 128,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: true,
    bos_token_id: 256,
    eos_token_id: 257,
    hidden_act: 'silu',
    ...config,
  };
  const u = lcg(seed);
  const rand = () => (u() - 0.5) * 0.2;
  const tensors = expectedModelWeights(parseModelConfig(json)).map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const fill = name === poison ? () => NaN : shape.length === 1 ? () => 1 : rand;
    return [name, Tensor.f32([...shape], Float32Array.from({ length: size }, fill))] as const;
  });
  await writeSafetensors(nodeFolder(dir), 'model.safetensors', tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
  return dir;
}
