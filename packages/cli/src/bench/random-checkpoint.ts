import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectedModelWeights, parseModelConfig } from '@lorafuse/core';

/** Bytes of the largest block written at once: a tensor is generated and written in pieces of this. */
const PIECE_BYTES = 16 * 2 ** 20;

/**
 * Writes a Hugging Face model folder for `config` (a `config.json` object)
 * with random bf16 weights, streamed one piece at a time, so that a
 * 1B-parameter checkpoint never sits in memory: matrices uniform in
 * ±[2⁻⁷, 2⁻⁶) from a seeded LCG (random signs and mantissas), norm weights
 * one, biases zero. The values are not a trained model's; the memory a run
 * takes does not depend on them. Returns the number of parameters.
 */
export async function writeRandomCheckpoint(dir: string, config: Readonly<Record<string, unknown>>, seed = 1): Promise<number> {
  const specs = expectedModelWeights(parseModelConfig(config));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', lorafuse: 'random bf16 weights for bench memory' } };
  let offset = 0;
  for (const { name, shape } of specs) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const file = await open(join(dir, 'model.safetensors'), 'w');
  let state = seed >>> 0;
  let parameters = 0;
  try {
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(json.length), true);
    await file.write(length);
    await file.write(Buffer.from(json, 'utf8'));
    const piece = new Uint16Array(PIECE_BYTES / 2);
    for (const { name, shape } of specs) {
      const size = shape.reduce((a, b) => a * b, 1);
      parameters += size;
      // Norms are one (bf16 0x3f80), biases zero; matrices random.
      const constant = shape.length === 1 ? (name.endsWith('norm.weight') ? 0x3f80 : 0) : undefined;
      for (let done = 0; done < size; done += piece.length) {
        const n = Math.min(piece.length, size - done);
        for (let i = 0; i < n; i++) {
          if (constant !== undefined) piece[i] = constant;
          else {
            state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
            piece[i] = ((state >>> 31) << 15) | 0x3c00 | ((state >>> 8) & 0x7f);
          }
        }
        await file.write(new Uint8Array(piece.buffer, 0, n * 2));
      }
    }
  } finally {
    await file.close();
  }
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return parameters;
}
