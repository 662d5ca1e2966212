import { LoraFuseError } from '../errors/index.js';
import type { ChatMessage, ChatTemplate } from '../tokenizer/chat-template.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** How a `{source, summary}` pair becomes a conversation: the source as the user's message, the summary as the assistant's reply. */
export interface ChatOptions {
  /** The model's chat template ({@link ChatTemplate.load}). */
  readonly template: ChatTemplate;
  /** A system message before the user's. */
  readonly system?: string;
}

/** Stands for the assistant's content while finding the text that closes its turn: private-use characters, which no template trims or rewrites. */
const CONTENT_MARK = '\uE000lorafuse\uE001';

function conversation(chat: ChatOptions, source: string, reply?: string): ChatMessage[] {
  const messages: ChatMessage[] = chat.system === undefined ? [] : [{ role: 'system', content: chat.system }];
  messages.push({ role: 'user', content: source });
  if (reply !== undefined) messages.push({ role: 'assistant', content: reply });
  return messages;
}

function invalid(chat: ChatOptions, why: string): LoraFuseError {
  return new LoraFuseError('CHAT_TEMPLATE_INVALID', `${chat.template.name} ${why}`, { details: { template: chat.template.name } });
}

/** The rendered prompt of a source: the system and user messages, then the header of the assistant's turn. */
export function renderChatPrompt(chat: ChatOptions, source: string): string {
  return chat.template.render(conversation(chat, source), { addGenerationPrompt: true });
}

/** The text the template writes after an assistant's content to close its turn (`<|im_end|>\n`, `<|eot_id|>`, `<end_of_turn>\n`). */
function turnClose(chat: ChatOptions): string {
  const text = chat.template.render(conversation(chat, '', CONTENT_MARK));
  const at = text.indexOf(CONTENT_MARK);
  if (at < 0 || text.indexOf(CONTENT_MARK, at + 1) >= 0) throw invalid(chat, "does not write an assistant message's content exactly once.");
  return text.slice(at + CONTENT_MARK.length);
}

/**
 * The ids that end an assistant's turn in this template: what the template
 * writes after the content, through its first special token (Qwen's and
 * SmolLM2's `<|im_end|>`, Llama 3's `<|eot_id|>`, Gemma's `<end_of_turn>`;
 * the newline after it is left out), or its first token when it has no
 * special one. Generation stops at the last of them.
 */
export function chatEndOfTurn(tokenizer: Tokenizer, chat: ChatOptions): number[] {
  const ids = tokenizer.encode(turnClose(chat));
  const special = ids.findIndex((id) => tokenizer.specialIds?.has(id));
  return ids.slice(0, special >= 0 ? special + 1 : Math.min(1, ids.length));
}

/**
 * The assistant's part of a rendered pair: the text between the rendered
 * prompt ({@link renderChatPrompt}) and the close of the turn, that is the
 * summary as the template writes it (Llama 3 and Gemma trim it). Throws
 * `CHAT_TEMPLATE_INVALID` when the whole conversation does not start with
 * the prompt or end with the turn's close.
 */
export function chatReply(chat: ChatOptions, source: string, summary: string): string {
  const prompt = renderChatPrompt(chat, source);
  const whole = chat.template.render(conversation(chat, source, summary));
  const close = turnClose(chat);
  if (!whole.startsWith(prompt) || !whole.endsWith(close) || whole.length < prompt.length + close.length) {
    throw invalid(
      chat,
      "renders a pair whose conversation does not start with its generation prompt and end with the assistant turn's close; it cannot be split into prompt and reply.",
    );
  }
  return whole.slice(prompt.length, whole.length - close.length);
}

/**
 * The ids of the rendered prompt of `source`, at most `room` of them: the
 * whole rendering encoded at once (as transformers' `apply_chat_template`
 * encodes it: no special tokens added, the template writes its own BOS),
 * the source cut from its end, by whole characters, when it does not fit.
 * `undefined` when even an empty source does not fit.
 */
export function chatPromptIds(tokenizer: Tokenizer, chat: ChatOptions, source: string, room: number): number[] | undefined {
  const ids = (chars: readonly string[]) => tokenizer.encode(renderChatPrompt(chat, chars.join('')));
  const full = tokenizer.encode(renderChatPrompt(chat, source));
  if (full.length <= room) return full;
  const chars = [...source];
  // Binary search for the longest source prefix whose prompt fits (token counts grow with the prefix).
  let [fits, tooLong] = [0, chars.length];
  let best = ids([]);
  if (best.length > room) return undefined;
  while (tooLong - fits > 1) {
    const mid = (fits + tooLong) >> 1;
    const candidate = ids(chars.slice(0, mid));
    if (candidate.length <= room) [fits, best] = [mid, candidate];
    else tooLong = mid;
  }
  return best;
}
