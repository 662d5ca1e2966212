import { Tape } from '../autograd/tape.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import type { KVCache } from '../model/kv-cache.js';
import type { CausalLM } from '../model/llama.js';
import { Tensor } from '../tensor/index.js';

/**
 * One incremental step: feeds `rows` (one token list per batch row, all of
 * one length) through `model` after `cache`, and returns each row's logits
 * for the next token, read back to the host. Every intermediate is freed.
 */
export async function nextTokenLogits(
  model: CausalLM,
  cache: KVCache,
  rows: readonly (readonly number[])[],
  adapters: readonly DeviceAdapter[],
): Promise<Float32Array[]> {
  const tape = new Tape(model.backend);
  try {
    const ids = tape.constant(new Tensor('i32', [rows.length, rows[0].length], Int32Array.from(rows.flat())));
    const logits = model.decode(tape, ids, cache, { adapters, lastOnly: true });
    const data = (await model.backend.read(logits)).toFloat32();
    const vocab = model.config.vocabSize;
    return rows.map((_, b) => data.slice(b * vocab, (b + 1) * vocab));
  } finally {
    tape.dispose();
  }
}
