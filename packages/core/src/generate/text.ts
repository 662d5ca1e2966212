import { DEFAULT_PROMPT_TEMPLATE } from '../data/encode.js';
import { LoraFuseError } from '../errors/index.js';
import type { CausalLM } from '../model/llama.js';
import { contextLength } from '../model/kv-cache.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { generateTokens } from './generate.js';
import type { FinishReason, GenerateOptions, GenerateResult } from './options.js';

/** Options of {@link promptForSource}. */
export interface PromptOptions {
  /** The training prompt template (`{source}` once); default {@link DEFAULT_PROMPT_TEMPLATE}. */
  readonly template?: string;
  /** Tokens the prompt plus the new tokens may take (the model's context, or `--max-length`). */
  readonly maxLength: number;
  /** New tokens to leave room for. */
  readonly maxNewTokens: number;
}

/**
 * The prompt ids for a `{source}` record, exactly as {@link encodeRecord}
 * builds the prompt part of a training pair: the template's parts and the
 * source encoded separately, the source cut from its end so that the prompt
 * leaves `maxNewTokens` of `maxLength` free. Throws `INVALID_OPTION` for a
 * template without exactly one `{source}` and `CONTEXT_EXCEEDED` when the
 * template alone leaves no room.
 */
export function promptForSource(tokenizer: Tokenizer, source: string, options: PromptOptions): number[] {
  const template = options.template ?? DEFAULT_PROMPT_TEMPLATE;
  const parts = template.split('{source}');
  if (parts.length !== 2)
    throw new LoraFuseError('INVALID_OPTION', `The prompt template must contain {source} exactly once; got ${JSON.stringify(template)}.`, {
      details: { template },
    });
  const prefix = tokenizer.encode(parts[0]);
  const suffix = tokenizer.encode(parts[1]);
  const room = options.maxLength - options.maxNewTokens - prefix.length - suffix.length;
  if (room < 0) {
    throw new LoraFuseError(
      'CONTEXT_EXCEEDED',
      `The ${prefix.length + suffix.length}-token prompt template and ${options.maxNewTokens} new tokens do not fit a context of ${options.maxLength}; ask for fewer new tokens.`,
      {
        details: { templateTokens: prefix.length + suffix.length, maxNewTokens: options.maxNewTokens, maxLength: options.maxLength },
      },
    );
  }
  return [...prefix, ...tokenizer.encode(source).slice(0, room), ...suffix];
}

/** Options of {@link generateText}. */
export interface GenerateTextOptions extends GenerateOptions {
  /** For a `{source}` prompt: the training template (default {@link DEFAULT_PROMPT_TEMPLATE}). Ignored for a plain `text` prompt. */
  readonly template?: string;
}

/** The prompt of {@link generateText}: plain text continued as is, or a `{source}` record put in the training template. */
export type TextPrompt = { readonly text: string } | { readonly source: string };

/** What {@link generateText} returns once done: the text with its tokens. */
export interface GenerateTextResult extends GenerateResult {
  /** The decoded new tokens (special tokens such as the stop token dropped). */
  readonly text: string;
}

/**
 * Generates text with `tokenizer`, streaming it in pieces as tokens arrive.
 * A piece is yielded once the decoded text is stable: bytes of an
 * incomplete UTF-8 character (decoded as U+FFFD) are held back until the
 * character completes. A `{source}` prompt uses the training template and
 * loses the end of its source when it does not fit the context with
 * `maxNewTokens` (as {@link encodeRecord}). The return value has the whole
 * text, the tokens and the finish reason.
 */
export async function* generateText(
  model: CausalLM,
  tokenizer: Tokenizer,
  prompt: TextPrompt,
  options: GenerateTextOptions,
): AsyncGenerator<string, GenerateTextResult, undefined> {
  const maxNewTokens = Math.min(options.maxNewTokens, contextLength(model.config) - 1);
  const ids =
    'source' in prompt
      ? promptForSource(tokenizer, prompt.source, { template: options.template, maxLength: contextLength(model.config), maxNewTokens })
      : tokenizer.encode(prompt.text);
  const tokens: number[] = [];
  let emitted = '';
  const iterator = generateTokens(model, ids, options);
  let finishReason: FinishReason;
  for (;;) {
    const next = await iterator.next();
    if (next.done) {
      finishReason = next.value;
      break;
    }
    tokens.push(next.value);
    const text = tokenizer.decode(tokens);
    if (!text.endsWith('\uFFFD') && text.startsWith(emitted) && text.length > emitted.length) {
      yield text.slice(emitted.length);
      emitted = text;
    }
  }
  const text = tokenizer.decode(tokens);
  if (text.startsWith(emitted) && text.length > emitted.length) yield text.slice(emitted.length);
  return { text, tokens, finishReason };
}
