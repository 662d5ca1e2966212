import { LoraFuseError } from '../errors/index.js';
import { specialTokensOf } from '../tokenizer/sequence.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { chatEndOfTurn, chatReply } from './chat.js';
import type { DataRecord, PairRecord } from './jsonl.js';
import { encodePrompt, type PromptFormat } from './prompt.js';

/** Ignored target (no loss), as PyTorch's `ignore_index`. */
export const IGNORE_TARGET = -100;

/** How records become token sequences. */
export interface EncodeOptions extends PromptFormat {
  /** Longest sequence in tokens (the model's context); longer pairs lose the end of their source. */
  readonly maxLength: number;
  /**
   * End a pair's target with the end of the sequence, predicted like the
   * summary, so that a trained model learns to stop: the tokenizer's `eos`
   * after the summary (not repeated when the tokenizer's own special tokens
   * already end with it), or with `chat` the token that closes the
   * assistant's turn. Default: true when there is one (with `chat`, or a
   * tokenizer with an `eos`); true without one throws `INVALID_OPTION`;
   * false leaves the target at the summary alone (plus what the tokenizer
   * always adds after a sequence).
   */
  readonly appendEos?: boolean;
}

/** One encoded sequence. `targets[i]` is the id position `i` predicts, or {@link IGNORE_TARGET}. */
export interface Example {
  readonly ids: readonly number[];
  readonly targets: readonly number[];
}

/** Shifted targets: position i predicts ids[i + 1] when i + 1 ≥ `firstPredicted`. */
function shiftedTargets(ids: readonly number[], firstPredicted: number): number[] {
  return ids.map((_, i) => (i + 1 >= Math.max(1, firstPredicted) && i + 1 < ids.length ? ids[i + 1] : IGNORE_TARGET));
}

/** The ids a pair's loss covers: the summary and what ends it (see {@link EncodeOptions.appendEos}). */
function pairTarget(record: PairRecord, tokenizer: Tokenizer, options: EncodeOptions): number[] {
  const appendEos = options.appendEos ?? (options.chat !== undefined || tokenizer.eos !== undefined);
  if (options.chat) {
    const reply = tokenizer.encode(chatReply(options.chat, record.source, record.summary));
    return appendEos ? [...reply, ...chatEndOfTurn(tokenizer, options.chat)] : reply;
  }
  const target = [...tokenizer.encode(record.summary), ...specialTokensOf(tokenizer).suffix];
  if (appendEos) {
    if (tokenizer.eos === undefined) {
      throw new LoraFuseError('INVALID_OPTION', `appendEos needs a tokenizer with an eos token; ${tokenizer.name} has none (encode with appendEos: false).`);
    }
    if (target.at(-1) !== tokenizer.eos) target.push(tokenizer.eos);
  }
  return target;
}

/**
 * Encodes one record. A pair becomes its prompt ({@link encodePrompt}: the
 * plain template, or the chat template's system and user messages and the
 * assistant's header) followed by its target: the summary, then the end of
 * the sequence (the tokenizer's `eos`, or the chat turn's closing token;
 * see {@link EncodeOptions.appendEos}). Only the target is predicted. When
 * the pair is longer than `maxLength` the source is cut from its end,
 * never the summary (a summary that cannot fit with the prompt throws
 * `DATA_INVALID`). Special tokens come as transformers' `tokenizer(text)`
 * puts them, once per sequence: a BOS the tokenizer adds starts the
 * prompt, and what it adds after a sequence follows the summary; with a
 * chat template, the template writes them. Text becomes
 * `tokenizer(text)`'s ids (its special tokens included, no eos beyond
 * them), its own tokens cut to fit `maxLength`, every token after the
 * first predicted. Throws `CHAT_TEMPLATE_INVALID` for a chat template that
 * cannot be split into prompt and reply.
 */
export function encodeRecord(record: DataRecord, tokenizer: Tokenizer, options: EncodeOptions): Example {
  const { maxLength } = options;
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new LoraFuseError('INVALID_OPTION', `maxLength must be an integer ≥ 2; got ${maxLength}.`);
  if (record.kind === 'text') {
    const { prefix, suffix } = specialTokensOf(tokenizer);
    const ids = [...prefix, ...tokenizer.encode(record.text).slice(0, Math.max(0, maxLength - prefix.length - suffix.length)), ...suffix].slice(0, maxLength);
    return { ids, targets: shiftedTargets(ids, 1) };
  }
  const target = pairTarget(record, tokenizer, options);
  const prompt = target.length === 0 ? undefined : encodePrompt(tokenizer, record.source, options, maxLength - target.length);
  if (prompt === undefined) {
    throw new LoraFuseError(
      'DATA_INVALID',
      `A summary of ${target.length} tokens (with what ends it) does not fit a context of ${maxLength} with its prompt (or is empty).`,
      { details: { summaryTokens: target.length, maxLength } },
    );
  }
  const ids = [...prompt, ...target];
  return { ids, targets: shiftedTargets(ids, prompt.length) };
}
