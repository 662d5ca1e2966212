import { LoraFuseError } from '../errors/index.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { DataRecord } from './jsonl.js';

/** The default prompt template: the source, a newline, then `TL;DR: ` (the summary follows). */
export const DEFAULT_PROMPT_TEMPLATE = '{source}\nTL;DR: ';

/** Ignored target (no loss), as PyTorch's `ignore_index`. */
export const IGNORE_TARGET = -100;

/** How records become token sequences. */
export interface EncodeOptions {
  /** Longest sequence in tokens (the model's context); longer pairs lose the end of their source. */
  readonly maxLength: number;
  /** Prompt for pairs: `{source}` appears exactly once; the summary follows the prompt. Default {@link DEFAULT_PROMPT_TEMPLATE}. */
  readonly template?: string;
  /** Append the tokenizer's `eos` after a pair's summary (it is then predicted too). Default false. */
  readonly appendEos?: boolean;
}

/** One encoded sequence. `targets[i]` is the id position `i` predicts, or {@link IGNORE_TARGET}. */
export interface Example {
  readonly ids: readonly number[];
  readonly targets: readonly number[];
}

function splitTemplate(template: string): [string, string] {
  const parts = template.split('{source}');
  if (parts.length !== 2) {
    throw new LoraFuseError('INVALID_OPTION', `The prompt template must contain {source} exactly once; got ${JSON.stringify(template)}.`, {
      details: { template },
    });
  }
  return [parts[0], parts[1]];
}

/** Shifted targets: position i predicts ids[i + 1] when i + 1 ≥ `firstPredicted`. */
function shiftedTargets(ids: readonly number[], firstPredicted: number): number[] {
  return ids.map((_, i) => (i + 1 >= Math.max(1, firstPredicted) && i + 1 < ids.length ? ids[i + 1] : IGNORE_TARGET));
}

/**
 * Encodes one record. A pair becomes `prompt(source) + summary [+ eos]`,
 * with targets only on the summary (and eos) tokens; when it is longer than
 * `maxLength` the source is cut from its end, never the summary (a summary
 * that cannot fit with the template throws `DATA_INVALID`). Text becomes its
 * tokens, cut to `maxLength`, every token after the first predicted. The
 * template's parts and the source are encoded separately, so a
 * subword tokenizer never merges across their boundaries.
 */
export function encodeRecord(record: DataRecord, tokenizer: Tokenizer, options: EncodeOptions): Example {
  const { maxLength } = options;
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new LoraFuseError('INVALID_OPTION', `maxLength must be an integer ≥ 2; got ${maxLength}.`);
  if (record.kind === 'text') {
    const ids = tokenizer.encode(record.text).slice(0, maxLength);
    return { ids, targets: shiftedTargets(ids, 1) };
  }
  const [before, after] = splitTemplate(options.template ?? DEFAULT_PROMPT_TEMPLATE);
  const prefix = tokenizer.encode(before);
  const suffix = tokenizer.encode(after);
  const summary = tokenizer.encode(record.summary);
  if (options.appendEos) {
    if (tokenizer.eos === undefined) throw new LoraFuseError('INVALID_OPTION', `appendEos needs a tokenizer with an eos token; ${tokenizer.name} has none.`);
    summary.push(tokenizer.eos);
  }
  const room = maxLength - prefix.length - suffix.length - summary.length;
  if (room < 0 || summary.length === 0) {
    throw new LoraFuseError(
      'DATA_INVALID',
      `A summary of ${summary.length} tokens does not fit a context of ${maxLength} with the ${prefix.length + suffix.length}-token prompt template (or is empty).`,
      {
        details: { summaryTokens: summary.length, maxLength },
      },
    );
  }
  const prompt = [...prefix, ...tokenizer.encode(record.source).slice(0, room), ...suffix];
  const ids = [...prompt, ...summary];
  return { ids, targets: shiftedTargets(ids, prompt.length) };
}
