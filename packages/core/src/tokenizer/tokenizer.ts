/**
 * Text ↔ token ids. Implementations: {@link ByteTokenizer} (bytes as ids)
 * and {@link HfTokenizer} (a Hugging Face `tokenizer.json`).
 */
export interface Tokenizer {
  /** One line for logs (`byte-level`, a model's tokenizer name...). */
  readonly name: string;
  /** Number of ids (the model's embedding rows must cover them). */
  readonly vocabSize: number;
  /** Beginning-of-sequence id, when the tokenizer has one. */
  readonly bos?: number;
  /** End-of-sequence id, when the tokenizer has one. */
  readonly eos?: number;
  /** Id used to pad batches (its targets are always ignored). */
  readonly pad: number;
  /** Ids of `text`, without special tokens. */
  encode(text: string): number[];
  /** Text of `ids`; special tokens are dropped. */
  decode(ids: readonly number[]): string;
}
