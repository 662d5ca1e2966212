export type { Tokenizer } from './tokenizer.js';
export { ByteTokenizer } from './byte.js';
export { HF_TOKENIZER_CONFIG_FILE, HF_TOKENIZER_FILE, HfTokenizer, TOKENIZER_REGEX_LIMITS } from './hf.js';
export type { RegexLimits } from '../regex/guard.js';
