export { readJsonl, type DataRecord, type PairRecord, type TextRecord } from './jsonl.js';
export { IGNORE_TARGET, encodeRecord, type EncodeOptions, type Example } from './encode.js';
export { DEFAULT_PROMPT_TEMPLATE, encodePrompt, type PromptFormat } from './prompt.js';
export { chatEndOfTurn, chatPromptIds, chatReply, renderChatPrompt, type ChatOptions } from './chat.js';
export { makeBatch, type Batch } from './batch.js';
