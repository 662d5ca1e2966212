import { NO_SPECIAL_TOKENS } from './post-processor.js';
import type { SpecialTokens, Tokenizer } from './tokenizer.js';

/** The tokenizer's {@link Tokenizer.specialTokens}, or none. */
export function specialTokensOf(tokenizer: Tokenizer): SpecialTokens {
  return tokenizer.specialTokens ?? NO_SPECIAL_TOKENS;
}

/**
 * The ids of `text` as one whole sequence, exactly as transformers'
 * `tokenizer(text)["input_ids"]`: the tokenizer's special tokens (a BOS, for
 * Llama 3 and Gemma) around {@link Tokenizer.encode}'s ids.
 */
export function encodeWithSpecialTokens(tokenizer: Tokenizer, text: string): number[] {
  const { prefix, suffix } = specialTokensOf(tokenizer);
  return [...prefix, ...tokenizer.encode(text), ...suffix];
}
