import { LoraFuseError } from '../errors/index.js';
import { NO_SPECIAL_TOKENS } from './post-processor.js';
import type { SpecialTokens, Tokenizer } from './tokenizer.js';

const encoder = new TextEncoder();
// Generated ids may cut a multi-byte character; decoding must not throw then.
const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * The built-in byte-level tokenizer, for small models trained from scratch:
 * ids 0–255 are the raw UTF-8 bytes, then `bos` = 256, `eos` = 257 and
 * `pad` = 258 (vocabulary 259). Every string round-trips exactly. A
 * sequence gets no special tokens: bos and eos are placed by the caller.
 */
export class ByteTokenizer implements Tokenizer {
  readonly name = 'byte-level';
  readonly vocabSize = 259;
  readonly bos = 256;
  readonly eos = 257;
  readonly pad = 258;
  readonly specialTokens: SpecialTokens = NO_SPECIAL_TOKENS;
  readonly specialIds: ReadonlySet<number> = new Set([256, 257, 258]);

  encode(text: string): number[] {
    return Array.from(encoder.encode(text));
  }

  /** Drops the special ids; invalid UTF-8 (a cut character) becomes U+FFFD. Throws `INVALID_OPTION` for ids outside the vocabulary. */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new LoraFuseError('INVALID_OPTION', `Token id ${id} is outside the byte-level vocabulary [0, ${this.vocabSize}).`, { details: { id } });
      }
      if (id < 256) bytes.push(id);
    }
    return decoder.decode(Uint8Array.from(bytes));
  }
}
