export type { Tokenizer } from './tokenizer.js';
export { ByteTokenizer } from './byte.js';
export { HF_TOKENIZER_CONFIG_FILE, HF_TOKENIZER_FILE, HfTokenizer } from './hf.js';
