export type { SpecialTokens, Tokenizer } from './tokenizer.js';
export { ByteTokenizer } from './byte.js';
export { HF_TOKENIZER_CONFIG_FILE, HF_TOKENIZER_FILE, HfTokenizer, TOKENIZER_REGEX_LIMITS } from './hf.js';
export { NO_SPECIAL_TOKENS, postProcessorTokens } from './post-processor.js';
export { encodeWithSpecialTokens, specialTokensOf } from './sequence.js';
export { CHAT_TEMPLATE_FILE, ChatTemplate, type ChatMessage, type ChatRenderOptions, type ChatTemplateOptions } from './chat-template.js';
export { strftime } from './strftime.js';
export type { RegexLimits } from '../regex/guard.js';
