import type { Backend } from '../backend/backend.js';
import { Tape } from '../autograd/tape.js';
import { makeBatch, type Batch } from '../data/batch.js';
import type { Example } from '../data/encode.js';
import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM, ForwardOptions } from '../model/llama.js';

/** What {@link evaluateLoss} reports (the `eval --metric loss` output). */
export interface LossReport {
  /** Mean negative log-likelihood per counted target token (nats). */
  readonly loss: number;
  /** `exp(loss)`. */
  readonly perplexity: number;
  /** Number of counted target tokens. */
  readonly tokens: number;
}

/** Options of {@link evaluateLoss}. */
export interface EvaluateLossOptions {
  /** Adapters applied in the forward pass (none: the base model). */
  readonly adapters?: readonly DeviceAdapter[];
  /** Pad id of the tokenizer (must be inside the model's vocabulary). */
  readonly padId: number;
  /** Examples per forward pass (default 8). */
  readonly batchSize?: number;
  /** Checked between batches; aborting throws `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called after each batch with the examples done so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Splits `items` into consecutive chunks of `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new LoraFuseError('INVALID_OPTION', `Batch size must be a positive integer; got ${size}.`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Mean loss of one batch on `tape` (the model's mean over the batch's counted
 * targets), as a tape tensor; `forward` adds the training-only options of the
 * forward pass (LoRA dropout, the projection-input hook).
 */
export function batchLoss(
  tape: Tape,
  model: CausalLM,
  batch: Batch,
  adapters: readonly DeviceAdapter[] = [],
  forward: Pick<ForwardOptions, 'dropout' | 'onLinearInput' | 'logits' | 'lossChunkTokens' | 'checkpointing'> = {},
) {
  // Host targets: the LM head and loss run in chunks over the counted positions only.
  const { loss } = model.forward(tape, tape.constant(batch.ids), { ...forward, adapters, targets: batch.targets });
  return loss!;
}

/**
 * Mean per-token negative log-likelihood and perplexity over encoded
 * examples: every batch's mean loss weighted by its counted targets, so the
 * result is the mean over all counted tokens, independent of batching
 * (pairs count only their summary tokens; text every token after the first;
 * see {@link encodeRecord}). Throws `INVALID_OPTION` when nothing is counted.
 */
export async function evaluateLoss(backend: Backend, model: CausalLM, examples: readonly Example[], options: EvaluateLossOptions): Promise<LossReport> {
  let sum = 0;
  let tokens = 0;
  let done = 0;
  for (const group of chunks(examples, options.batchSize ?? 8)) {
    throwIfAborted(options.signal);
    const batch = makeBatch(group, options.padId);
    done += group.length;
    if (batch.tokens === 0) continue;
    const tape = new Tape(backend);
    try {
      const loss = (await backend.read(batchLoss(tape, model, batch, options.adapters))).toFloat32()[0];
      sum += loss * batch.tokens;
      tokens += batch.tokens;
    } finally {
      tape.dispose();
    }
    options.onProgress?.(done, examples.length);
  }
  if (tokens === 0) throw new LoraFuseError('INVALID_OPTION', 'The evaluation data has no target tokens to score.');
  const loss = sum / tokens;
  return { loss, perplexity: Math.exp(loss), tokens };
}
