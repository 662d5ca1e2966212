/**
 * The ids a tokenizer puts around one sequence, as transformers'
 * `tokenizer(text)` does (its post-processor): Llama 3's
 * `<|begin_of_text|>` or Gemma's `<bos>` before, nothing for Qwen 2.5 or
 * SmolLM2.
 */
export interface SpecialTokens {
  /** Ids before the sequence's own tokens (a BOS). */
  readonly prefix: readonly number[];
  /** Ids after them (an EOS or SEP, for tokenizers that add one). */
  readonly suffix: readonly number[];
}

/**
 * Text ↔ token ids. Implementations: {@link ByteTokenizer} (bytes as ids)
 * and {@link HfTokenizer} (a Hugging Face `tokenizer.json`).
 */
export interface Tokenizer {
  /** One line for logs (`byte-level`, a model's tokenizer name...). */
  readonly name: string;
  /** Number of ids (the model's embedding rows must cover them). */
  readonly vocabSize: number;
  /** Beginning-of-sequence id, when the tokenizer has one (whether it is added is {@link specialTokens}' business). */
  readonly bos?: number;
  /** End-of-sequence id, when the tokenizer has one. */
  readonly eos?: number;
  /** Id used to pad batches (its targets are always ignored). */
  readonly pad: number;
  /** What a whole sequence gets around its tokens (see {@link encodeWithSpecialTokens}); absent: nothing. */
  readonly specialTokens?: SpecialTokens;
  /** Ids of the special tokens, those {@link decode} drops; absent: none known. */
  readonly specialIds?: ReadonlySet<number>;
  /** Ids of `text`, without the special tokens a sequence gets ({@link specialTokens}); special-token strings in the text become their ids. */
  encode(text: string): number[];
  /** Text of `ids`; special tokens are dropped. */
  decode(ids: readonly number[]): string;
}
