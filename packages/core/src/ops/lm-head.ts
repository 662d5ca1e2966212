import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Tape } from '../autograd/tape.js';
import { LoraFuseError } from '../errors/index.js';
import { Tensor } from '../tensor/index.js';
import { reshape } from './layout.js';

/** Hugging Face's ignored target. */
const IGNORE = -100;

/**
 * Bytes of `[tokens, vocab]` f32 logits a chunk of {@link lmHeadLoss} aims
 * at when no `chunkTokens` is given: 64 MiB, within
 * {@link MIN_CHUNK_TOKENS}…{@link MAX_CHUNK_TOKENS} tokens. A chunk packs
 * the LM head's weight once for its logits and once for its input gradient,
 * so chunks much smaller than this spend more time packing than computing.
 */
const CHUNK_LOGITS_BYTES = 64 * 2 ** 20;
const MIN_CHUNK_TOKENS = 32;
const MAX_CHUNK_TOKENS = 1024;

/** Options of {@link lmHeadLoss}. */
export interface LmHeadLossOptions {
  /** Tokens per chunk (default: 64 MiB of logits, 32 to 1024 tokens). */
  readonly chunkTokens?: number;
  /** Soft-caps the logits, `cap · tanh(logits / cap)`, before the loss (Gemma's final logit soft-capping). */
  readonly softcap?: number;
}

/** The default chunk of a vocabulary: see {@link CHUNK_LOGITS_BYTES}. */
export function lossChunkTokens(vocab: number): number {
  return Math.max(MIN_CHUNK_TOKENS, Math.min(MAX_CHUNK_TOKENS, Math.floor(CHUNK_LOGITS_BYTES / (4 * Math.max(vocab, 1)))));
}

/**
 * The LM head and the mean softmax cross-entropy in one differentiable op,
 * in chunks of tokens: `hidden` `[..., H]` (the final norm's output) times
 * `weight` `[V, H]` transposed gives a chunk's logits, whose loss and
 * gradient are taken at once, so the `[tokens, V]` logits never exist whole.
 * Only the positions whose target (host i32 `targets`, the leading shape of
 * `hidden`) is not −100 are computed. The result is the mean over them, shape
 * `[]` (NaN when there are none), as {@link crossEntropy} of the full logits
 * gives it (of the soft-capped logits with `softcap`).
 *
 * When `hidden` or `weight` needs a gradient, each chunk's logit gradient
 * `(softmax − onehot) / count` is multiplied by the weight (and by the chunk's
 * inputs, for a trained weight) in the forward pass itself, and the tape keeps
 * only those `[tokens, H]` (and `[V, H]`) results: the backward scales them by
 * the loss's gradient. A chunk thus costs what the unchunked head costs, with
 * no logits recomputed. Throws `SHAPE_MISMATCH` for targets that do not match
 * `hidden`'s leading shape and `INVALID_OPTION` for a bad `chunkTokens`.
 */
export function lmHeadLoss(tape: Tape, hidden: DeviceTensor, weight: DeviceTensor, targets: Tensor<'i32'>, options: LmHeadLossOptions = {}): DeviceTensor {
  const k = tape.backend.kernels;
  const dim = hidden.shape[hidden.shape.length - 1];
  const rows = hidden.size / Math.max(dim, 1);
  const lead = hidden.shape.slice(0, -1);
  if (targets.shape.length !== lead.length || targets.shape.some((d, i) => d !== lead[i])) {
    throw new LoraFuseError('SHAPE_MISMATCH', `lmHeadLoss: targets [${targets.shape.join(', ')}] must have hidden's leading shape [${lead.join(', ')}].`, {
      details: { targets: [...targets.shape], hidden: [...hidden.shape] },
    });
  }
  const chunk = options.chunkTokens ?? lossChunkTokens(weight.shape[0]);
  const cap = options.softcap;
  if (cap !== undefined && !(Number.isFinite(cap) && cap > 0))
    throw new LoraFuseError('INVALID_OPTION', `lmHeadLoss: softcap must be a positive number; got ${String(cap)}.`);
  if (!Number.isSafeInteger(chunk) || chunk < 1)
    throw new LoraFuseError('INVALID_OPTION', `lmHeadLoss: chunkTokens must be a positive integer; got ${String(chunk)}.`);
  const picked: number[] = [];
  targets.data.forEach((t, i) => {
    if (t !== IGNORE) picked.push(i);
  });
  const count = picked.length;
  if (count === 0) return tape.constant(Tensor.f32([], [Number.NaN]));
  const flat = reshape(tape, hidden, [rows, dim]);
  const [needX, needW] = [tape.requiresGrad(flat), tape.requiresGrad(weight)];
  const temps: DeviceTensor[] = [];
  const temp = (t: DeviceTensor) => {
    temps.push(t);
    return t;
  };
  let loss: DeviceTensor | undefined;
  let dx: DeviceTensor | undefined;
  let dw: DeviceTensor | undefined;
  try {
    for (let c0 = 0; c0 < count; c0 += chunk) {
      const at = picked.slice(c0, c0 + chunk);
      const ids = temp(tape.backend.upload(new Tensor('i32', [at.length], Int32Array.from(at))));
      const chunkTargets = temp(
        tape.backend.upload(
          new Tensor(
            'i32',
            [at.length],
            Int32Array.from(at, (i) => targets.data[i]),
          ),
        ),
      );
      const x = temp(k.embedding(ids, flat));
      const raw = temp(k.matmul(x, weight, { transB: true }));
      const logits = cap === undefined ? raw : temp(k.softcap(raw, cap));
      const { loss: mean, lse } = k.crossEntropy(logits, chunkTargets);
      temp(lse);
      // This chunk's share of the mean over every counted position.
      const share = at.length / count;
      const part = temp(k.scale(temp(mean), share));
      loss = loss === undefined ? k.scale(part, 1) : replace(tape, loss, k.add(loss, part));
      if (needX || needW) {
        const gCapped = temp(k.crossEntropyBackward(logits, chunkTargets, lse, share));
        const g = cap === undefined ? gCapped : temp(k.softcapBackward(logits, gCapped, cap));
        // The logits are spent: free them before the products that read g.
        for (const spent of new Set([raw, logits])) tape.backend.free(temps.splice(temps.indexOf(spent), 1)[0]);
        if (needX) {
          const rowsGrad = temp(k.embeddingBackward(ids, temp(k.matmul(g, weight)), rows));
          dx = dx === undefined ? k.scale(rowsGrad, 1) : replace(tape, dx, k.add(dx, rowsGrad));
        }
        if (needW) {
          const weightGrad = temp(k.matmul(g, x, { transA: true }));
          dw = dw === undefined ? k.scale(weightGrad, 1) : replace(tape, dw, k.add(dw, weightGrad));
        }
      }
      for (const t of temps.splice(0)) tape.backend.free(t);
    }
  } catch (error) {
    for (const t of [loss, dx, dw]) if (t) tape.backend.free(t);
    throw error;
  } finally {
    for (const t of temps) tape.backend.free(t);
  }
  const result = tape.own(loss!);
  const saved = [dx, dw].filter((t): t is DeviceTensor => t !== undefined).map((t) => tape.own(t));
  tape.record([flat, weight], [result], saved, ([dLoss]) => {
    const seed = tape.seedValue(dLoss!);
    const scaled = (t: DeviceTensor | undefined) => (t === undefined ? undefined : seed === undefined ? k.mul(t, dLoss!) : k.scale(t, seed));
    return [scaled(dx), scaled(dw)];
  });
  return result;
}

/** Frees `old` and returns `next`: a running sum's new value. */
function replace(tape: Tape, old: DeviceTensor, next: DeviceTensor): DeviceTensor {
  tape.backend.free(old);
  return next;
}
