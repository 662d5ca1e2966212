import { encodePrompt, type PromptFormat } from '../data/prompt.js';
import { LoraFuseError } from '../errors/index.js';
import type { CausalLM } from '../model/llama.js';
import { contextLength } from '../model/kv-cache.js';
import { specialTokensOf } from '../tokenizer/sequence.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { generateTokens } from './generate.js';
import type { FinishReason, GenerateOptions, GenerateResult } from './options.js';

/** Options of {@link promptForSource}: the prompt format, and the room it must leave. */
export interface PromptOptions extends PromptFormat {
  /** Tokens the prompt plus the new tokens may take (the model's context, or `--max-length`). */
  readonly maxLength: number;
  /** New tokens to leave room for. */
  readonly maxNewTokens: number;
}

/**
 * The prompt ids for a `{source}` record, exactly as {@link encodeRecord}
 * builds the prompt part of a training pair ({@link encodePrompt}: the
 * plain template with the tokenizer's BOS, or the chat template's
 * messages and assistant header), the source cut from its end so that the
 * prompt leaves `maxNewTokens` of `maxLength` free. Throws `INVALID_OPTION`
 * for a template without exactly one `{source}` and `CONTEXT_EXCEEDED`
 * when the format alone leaves no room.
 */
export function promptForSource(tokenizer: Tokenizer, source: string, options: PromptOptions): number[] {
  const ids = encodePrompt(tokenizer, source, options, options.maxLength - options.maxNewTokens);
  if (ids === undefined) {
    throw new LoraFuseError(
      'CONTEXT_EXCEEDED',
      `The prompt format and ${options.maxNewTokens} new tokens do not fit a context of ${options.maxLength}; ask for fewer new tokens.`,
      { details: { maxNewTokens: options.maxNewTokens, maxLength: options.maxLength } },
    );
  }
  return ids;
}

/** Options of {@link generateText}. */
export interface GenerateTextOptions extends GenerateOptions, PromptFormat {}

/**
 * The prompt of {@link generateText}: plain text continued as is (after the
 * tokenizer's BOS, when it adds one), or a `{source}` record put in the
 * training template; with a chat template, either becomes the user's
 * message.
 */
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
 * `maxNewTokens` (as {@link encodeRecord}); with `chat`, a `{source}` or
 * `{text}` prompt is the user's message. The return value has the whole
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
    'source' in prompt || options.chat
      ? promptForSource(tokenizer, 'source' in prompt ? prompt.source : prompt.text, {
          template: options.template,
          chat: options.chat,
          maxLength: contextLength(model.config),
          maxNewTokens,
        })
      : [...specialTokensOf(tokenizer).prefix, ...tokenizer.encode(prompt.text)];
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
