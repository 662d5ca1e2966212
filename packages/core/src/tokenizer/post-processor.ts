import type { LoraFuseError } from '../errors/index.js';
import type { SpecialTokens } from './tokenizer.js';

type Json = Record<string, unknown>;

/** No tokens around a sequence. */
export const NO_SPECIAL_TOKENS: SpecialTokens = Object.freeze({ prefix: Object.freeze([]), suffix: Object.freeze([]) });

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The ids of one `TemplateProcessing` special token: its `special_tokens`
 * entry's `ids` (one name may stand for several ids).
 */
function templateIds(name: unknown, specials: unknown, invalid: (why: string) => LoraFuseError): number[] {
  const entry = isObject(specials) && typeof name === 'string' ? specials[name] : undefined;
  const ids = isObject(entry) ? entry.ids : undefined;
  if (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
    throw invalid(`has a TemplateProcessing post-processor whose special token ${JSON.stringify(name)} has no "ids" in its "special_tokens".`);
  }
  return ids as number[];
}

/** `single` of a `TemplateProcessing`: the special tokens before and after the one `$A` sequence. */
function template(processor: Json, invalid: (why: string) => LoraFuseError): SpecialTokens {
  const single = processor.single;
  if (!Array.isArray(single)) throw invalid('has a TemplateProcessing post-processor without a "single" list.');
  const prefix: number[] = [];
  const suffix: number[] = [];
  let sequences = 0;
  for (const piece of single) {
    if (isObject(piece) && isObject(piece.Sequence)) {
      sequences++;
      continue;
    }
    if (!isObject(piece) || !isObject(piece.SpecialToken))
      throw invalid('has a TemplateProcessing post-processor with a "single" item that is neither SpecialToken nor Sequence.');
    (sequences === 0 ? prefix : suffix).push(...templateIds(piece.SpecialToken.id, processor.special_tokens, invalid));
  }
  if (sequences !== 1) throw invalid(`has a TemplateProcessing post-processor whose "single" holds ${sequences} sequences; it needs exactly one ($A).`);
  return { prefix, suffix };
}

/** The id of a `[token, id]` pair of `BertProcessing`/`RobertaProcessing`. */
function pairId(value: unknown, what: string, invalid: (why: string) => LoraFuseError): number {
  if (!Array.isArray(value) || typeof value[0] !== 'string' || !Number.isSafeInteger(value[1]) || value[1] < 0) {
    throw invalid(`has a post-processor whose "${what}" is not a [token, id] pair.`);
  }
  return value[1] as number;
}

/**
 * What a `tokenizer.json` post-processor puts around one sequence: the ids
 * that transformers' `tokenizer(text)` adds before and after the text's
 * own tokens. `TemplateProcessing` (its `single` template: Llama 3's and
 * Gemma's BOS), `BertProcessing` and `RobertaProcessing` (`cls` before,
 * `sep` after), `ByteLevel` (offsets only: no tokens) and a `Sequence` of
 * them in which one at most adds tokens (Llama 3's: ByteLevel, then
 * TemplateProcessing); none for a
 * missing or null post-processor. transformers 5 takes the post-processor
 * as the authority whenever a tokenizer.json exists: `add_bos_token` and
 * `add_eos_token` of tokenizer_config.json change nothing then, and they
 * are not read here either. Throws what `invalid` makes for any other
 * type or a malformed one.
 */
export function postProcessorTokens(processor: unknown, invalid: (why: string) => LoraFuseError): SpecialTokens {
  if (processor === undefined || processor === null) return NO_SPECIAL_TOKENS;
  if (!isObject(processor)) throw invalid('has a "post_processor" that is not an object.');
  switch (processor.type) {
    case 'TemplateProcessing':
      return template(processor, invalid);
    case 'ByteLevel':
      return NO_SPECIAL_TOKENS;
    case 'BertProcessing':
    case 'RobertaProcessing':
      return { prefix: [pairId(processor.cls, 'cls', invalid)], suffix: [pairId(processor.sep, 'sep', invalid)] };
    case 'Sequence': {
      if (!Array.isArray(processor.processors)) throw invalid('has a Sequence post-processor without a "processors" list.');
      const adding = processor.processors.map((inner) => postProcessorTokens(inner, invalid)).filter((t) => t.prefix.length + t.suffix.length > 0);
      // The Rust library's result for two token-adding processors in a row is not a plain nesting of the two; no real tokenizer has one.
      if (adding.length > 1) throw invalid('has a Sequence post-processor with more than one processor that adds tokens; one at most is supported.');
      return adding[0] ?? NO_SPECIAL_TOKENS;
    }
    default:
      throw invalid(
        `has a post-processor of type ${JSON.stringify(processor.type)}; supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence.`,
      );
  }
}
