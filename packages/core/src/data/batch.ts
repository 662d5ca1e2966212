import { LoraFuseError } from '../errors/index.js';
import { Tensor } from '../tensor/index.js';
import { IGNORE_TARGET, type Example } from './encode.js';

/** A padded batch, ready for {@link CausalLM.forward}. */
export interface Batch {
  /** i32 `[batch, seq]`, padded with the pad id. */
  readonly ids: Tensor<'i32'>;
  /** i32 `[batch, seq]`, {@link IGNORE_TARGET} on padding and unpredicted positions. */
  readonly targets: Tensor<'i32'>;
  /** Number of counted targets (the loss's denominator). */
  readonly tokens: number;
}

/**
 * Pads examples on the right to the longest one. Causal attention never
 * lets a real position see the padding after it, so padding changes no
 * loss. Throws `INVALID_OPTION` for an empty list.
 */
export function makeBatch(examples: readonly Example[], padId: number): Batch {
  if (examples.length === 0) throw new LoraFuseError('INVALID_OPTION', 'A batch needs at least one example.');
  const seq = Math.max(...examples.map((e) => e.ids.length));
  const ids = new Int32Array(examples.length * seq).fill(padId);
  const targets = new Int32Array(examples.length * seq).fill(IGNORE_TARGET);
  let tokens = 0;
  for (const [row, example] of examples.entries()) {
    ids.set(example.ids, row * seq);
    targets.set(example.targets, row * seq);
    tokens += example.targets.filter((t) => t !== IGNORE_TARGET).length;
  }
  const shape = [examples.length, seq];
  return { ids: new Tensor('i32', shape, ids), targets: new Tensor('i32', shape, targets), tokens };
}
