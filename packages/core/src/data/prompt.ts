import { LoraFuseError } from '../errors/index.js';
import { specialTokensOf } from '../tokenizer/sequence.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { chatPromptIds, type ChatOptions } from './chat.js';

/** The default prompt template: the source, a newline, then `TL;DR: ` (the summary follows). */
export const DEFAULT_PROMPT_TEMPLATE = '{source}\nTL;DR: ';

/** How a source becomes a prompt: a plain template, or the model's chat template. */
export interface PromptFormat {
  /** Plain prompt: `{source}` appears exactly once; the summary follows the prompt. Default {@link DEFAULT_PROMPT_TEMPLATE}. Not with `chat`. */
  readonly template?: string;
  /** Render pairs as a conversation in the model's chat template instead (see {@link ChatOptions}). */
  readonly chat?: ChatOptions;
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

/** Throws `INVALID_OPTION` when a format asks for both a plain template and a chat template. */
export function checkPromptFormat(format: PromptFormat): void {
  if (format.template !== undefined && format.chat !== undefined) {
    throw new LoraFuseError(
      'INVALID_OPTION',
      "A prompt is either a plain template or a chat template, not both; put instructions in the chat's system message.",
    );
  }
}

/**
 * The prompt ids of `source`, at most `room` of them, the source cut from
 * its end when it does not fit; `undefined` when the format alone does not
 * fit. Plain: the tokenizer's leading special tokens (a BOS, when
 * `tokenizer(text)` adds one), then the template's two parts and the source,
 * each encoded on its own so that no token spans their boundaries (the BOS
 * comes once, at the start, however many parts there are). Chat: the
 * rendered system and user messages with the assistant's header
 * ({@link chatPromptIds}). Throws `INVALID_OPTION` for a template without
 * exactly one `{source}`, or both formats at once.
 */
export function encodePrompt(tokenizer: Tokenizer, source: string, format: PromptFormat, room: number): number[] | undefined {
  checkPromptFormat(format);
  if (format.chat) return chatPromptIds(tokenizer, format.chat, source, room);
  const [before, after] = splitTemplate(format.template ?? DEFAULT_PROMPT_TEMPLATE);
  const prefix = [...specialTokensOf(tokenizer).prefix, ...tokenizer.encode(before)];
  const suffix = tokenizer.encode(after);
  const sourceRoom = room - prefix.length - suffix.length;
  if (sourceRoom < 0) return undefined;
  return [...prefix, ...tokenizer.encode(source).slice(0, sourceRoom), ...suffix];
}
