export { readJsonl, type DataRecord, type PairRecord, type TextRecord } from './jsonl.js';
export { DEFAULT_PROMPT_TEMPLATE, IGNORE_TARGET, encodeRecord, type EncodeOptions, type Example } from './encode.js';
export { makeBatch, type Batch } from './batch.js';
