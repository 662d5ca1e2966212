import { chatEndOfTurn, type ChatOptions } from '../data/chat.js';
import { LoraFuseError } from '../errors/index.js';
import type { Folder } from '../io/folder.js';
import { readJsonFile } from '../io/json-file.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { Decoding } from './options.js';

/** A model folder's decoding defaults, as Hugging Face saves them. */
export const GENERATION_CONFIG_FILE = 'generation_config.json';

/** transformers' own sampling defaults, for a generation config that sets `do_sample` but not every value. */
const TRANSFORMERS_SAMPLING = Object.freeze({ temperature: 1, topK: 50, topP: 1 });

/** What a model's `generation_config.json` says about decoding (the fields LoRAFuse uses). */
export interface GenerationDefaults {
  /** `eos_token_id` (an int or a list): every id that ends generation. */
  readonly eosTokenIds: readonly number[];
  /** `do_sample`: sample instead of greedy decoding. */
  readonly doSample: boolean;
  /** `temperature`, when set. */
  readonly temperature?: number;
  /** `top_k`, when set (0: no limit). */
  readonly topK?: number;
  /** `top_p`, when set. */
  readonly topP?: number;
}

/**
 * Reads the decoding defaults of a parsed `generation_config.json`. Throws
 * `MODEL_CONFIG_INVALID` for an `eos_token_id` that is not a non-negative
 * integer or a list of them, or a mistyped `do_sample`, `temperature`
 * (> 0), `top_k` (integer ≥ 0) or `top_p` (in (0, 1]).
 */
export function parseGenerationConfig(json: unknown, name = GENERATION_CONFIG_FILE): GenerationDefaults {
  const bad = (key: string, expected: string, value: unknown) =>
    new LoraFuseError('MODEL_CONFIG_INVALID', `${name}: "${key}" must be ${expected}; got ${JSON.stringify(value)}.`, { details: { file: name, key } });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new LoraFuseError('MODEL_CONFIG_INVALID', `${name} must hold a JSON object.`);
  const config = json as Record<string, unknown>;
  const eos = config.eos_token_id;
  const eosTokenIds = eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos];
  if (!eosTokenIds.every((id) => Number.isSafeInteger(id) && id >= 0)) throw bad('eos_token_id', 'a token id or a list of token ids', eos);
  const optional = (key: string, valid: (v: number) => boolean, expected: string): number | undefined => {
    const value = config[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !valid(value)) throw bad(key, expected, value);
    return value;
  };
  if (config.do_sample !== undefined && config.do_sample !== null && typeof config.do_sample !== 'boolean')
    throw bad('do_sample', 'true or false', config.do_sample);
  return {
    eosTokenIds: eosTokenIds as number[],
    doSample: config.do_sample === true,
    temperature: optional('temperature', (v) => v > 0 && Number.isFinite(v), 'a number > 0'),
    topK: optional('top_k', (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0'),
    topP: optional('top_p', (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
  };
}

/** The {@link GenerationDefaults} of a model folder's `generation_config.json`, or `undefined` when it has none. */
export async function readGenerationConfig(folder: Folder, signal?: AbortSignal): Promise<GenerationDefaults | undefined> {
  if (!(await folder.exists(GENERATION_CONFIG_FILE))) return undefined;
  return parseGenerationConfig(await readJsonFile(folder, GENERATION_CONFIG_FILE, {}, signal), `${folder.name}/${GENERATION_CONFIG_FILE}`);
}

/**
 * The decoding transformers' `model.generate()` uses by default with these
 * defaults: sampling when `do_sample` is set, with the file's temperature,
 * top-k and top-p where it gives them and transformers' own defaults
 * (1, 50, 1) where not, and the Philox stream of `seed`; greedy otherwise.
 */
export function defaultDecoding(defaults: GenerationDefaults | undefined, seed = 0): Decoding {
  if (!defaults?.doSample) return { kind: 'greedy' };
  const { temperature = TRANSFORMERS_SAMPLING.temperature, topK = TRANSFORMERS_SAMPLING.topK, topP = TRANSFORMERS_SAMPLING.topP } = defaults;
  return { kind: 'sample', temperature, topK, topP, seed };
}

/**
 * Every id generation should stop at: the generation config's
 * `eos_token_id`s, the tokenizer's `eos`, and with a chat template the token
 * that closes an assistant's turn ({@link chatEndOfTurn}); sorted, each once.
 */
export function stopTokenIds(tokenizer: Tokenizer, options: { readonly generation?: GenerationDefaults; readonly chat?: ChatOptions } = {}): number[] {
  const ids = new Set(options.generation?.eosTokenIds ?? []);
  if (tokenizer.eos !== undefined) ids.add(tokenizer.eos);
  const close = options.chat ? chatEndOfTurn(tokenizer, options.chat).at(-1) : undefined;
  if (close !== undefined) ids.add(close);
  return [...ids].sort((a, b) => a - b);
}
