import { Tokenizer as HfImplementation } from '@huggingface/tokenizers';
import { regexHazard, type RegexLimits } from '../regex/guard.js';
import { LoraFuseError } from '../errors/index.js';
import type { Folder } from '../io/folder.js';
import { readJsonFile } from '../io/json-file.js';
import { postProcessorTokens } from './post-processor.js';
import type { SpecialTokens, Tokenizer } from './tokenizer.js';

/** The Hugging Face tokenizer files of a model folder. */
export const HF_TOKENIZER_FILE = 'tokenizer.json';
/** Optional companion naming the special tokens. */
export const HF_TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

type Json = Record<string, unknown>;

/**
 * Bounds on the regular expressions of a `tokenizer.json` (split
 * pre-tokenizers, replace normalizers and decoders), which run on whole
 * input texts: no repeated group with a variable body, at most three
 * variable quantifiers per top-level alternative (GPT-2, Llama 3 and Qwen2
 * split patterns use two), at most 4 096 characters.
 */
export const TOKENIZER_REGEX_LIMITS: RegexLimits = Object.freeze({ maxPatternLength: 4096, maxQuantifiers: 3, quantifierScope: 'alternative' });

/** Longest added (special) token accepted: real ones are short markers like `<|begin_of_text|>`, and the library scans texts for each. */
const MAX_ADDED_TOKEN_LENGTH = 256;

/** How far past the model's vocabulary and the added tokens an added token's id may lie (tokenizers with holes in their ids exist; none this sparse). */
const MAX_ID_GAP = 65_536;

/**
 * `added_tokens` must be a list of `{id, content}`: integer ids at most
 * {@link MAX_ID_GAP} past the model's vocabulary and the added tokens (the
 * library sizes tables by the largest id), and non-empty contents of at most
 * {@link MAX_ADDED_TOKEN_LENGTH} characters (it matches every one against
 * each text: an empty or huge one makes that loop or crawl).
 */
function checkAddedTokens(added: unknown, model: Json, invalid: (why: string) => LoraFuseError): void {
  if (added === undefined || added === null) return;
  if (!Array.isArray(added)) throw invalid('has "added_tokens" that is not a list.');
  const vocab = model.vocab;
  const entries = Array.isArray(vocab) ? vocab.length : typeof vocab === 'object' && vocab !== null ? Object.keys(vocab).length : 0;
  const maxId = entries + added.length + MAX_ID_GAP;
  for (const [i, token] of added.entries()) {
    const { id, content } = (token ?? {}) as Json;
    if (!Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= maxId)
      throw invalid(`has added_tokens[${i}] with id ${JSON.stringify(id)}; ids are integers in [0, ${maxId}) for this vocabulary.`);
    if (typeof content !== 'string' || content.length === 0 || content.length > MAX_ADDED_TOKEN_LENGTH) {
      throw invalid(`has added_tokens[${i}] whose content is not a string of 1–${MAX_ADDED_TOKEN_LENGTH} characters.`);
    }
  }
}

/** Every `{"Regex": pattern}` in a tokenizer.json tree, with its JSON path. */
function* regexPatterns(value: unknown, path: string): Generator<[string, string]> {
  if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* regexPatterns(v, `${path}[${i}]`);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'Regex' && typeof v === 'string') yield [`${path}.Regex`, v];
      else yield* regexPatterns(v, `${path}.${key}`);
    }
  }
}

/** A special token of `tokenizer_config.json`: a string or `{content}`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/** Ids of the `added_tokens` marked `special` (checked by {@link checkAddedTokens}). */
function specialIdsOf(added: unknown): Set<number> {
  const ids = new Set<number>();
  for (const token of Array.isArray(added) ? added : []) if ((token as Json).special === true) ids.add((token as Json).id as number);
  return ids;
}

/**
 * A Hugging Face `tokenizer.json` tokenizer, run by the pure-JS
 * `@huggingface/tokenizers` package (BPE, WordPiece, Unigram; normalizers,
 * pre-tokenizers and decoders as the Rust library defines them). `encode`
 * adds no special tokens; {@link specialTokens} holds what the file's
 * post-processor adds around a sequence (read by {@link postProcessorTokens},
 * not by the library), so that {@link encodeWithSpecialTokens} gives
 * transformers' `tokenizer(text)`; `decode` drops special tokens. `bos`,
 * `eos` and `pad` come from `tokenizer_config.json` when given; the pad id
 * falls back to `eos`, then 0 (padding never reaches a loss).
 */
export class HfTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly bos?: number;
  readonly eos?: number;
  readonly pad: number;
  readonly specialTokens: SpecialTokens;
  readonly specialIds: ReadonlySet<number>;
  readonly #impl: HfImplementation;
  readonly #cleanUpSpaces: boolean;

  /**
   * Builds from the parsed JSON files; throws `TOKENIZER_INVALID` when the
   * library cannot read them, the vocabulary is empty, the post-processor
   * is not one {@link postProcessorTokens} reads (or names ids outside the
   * vocabulary), or a regular expression is outside `regexLimits` (default
   * {@link TOKENIZER_REGEX_LIMITS}).
   */
  constructor(tokenizerJson: Json, tokenizerConfig: Json = {}, name = 'tokenizer.json', regexLimits: RegexLimits = TOKENIZER_REGEX_LIMITS) {
    const invalid = (why: string, cause?: unknown) => new LoraFuseError('TOKENIZER_INVALID', `${name} ${why}`, { cause, details: { file: name } });
    if (
      typeof tokenizerJson !== 'object' ||
      tokenizerJson === null ||
      Array.isArray(tokenizerJson) ||
      typeof tokenizerJson.model !== 'object' ||
      tokenizerJson.model === null
    ) {
      throw invalid('is not a Hugging Face tokenizer: it needs a "model" object (BPE, WordPiece or Unigram).');
    }
    checkAddedTokens(tokenizerJson.added_tokens, tokenizerJson.model as Json, invalid);
    // The library compiles these with JavaScript's backtracking engine and runs them on whole texts: refuse hostile ones first.
    for (const [path, pattern] of regexPatterns(tokenizerJson, '$')) {
      const why = regexHazard(pattern, regexLimits);
      if (why !== undefined) throw invalid(`holds the regular expression ${JSON.stringify(pattern.slice(0, 80))} at ${path}, which is refused: ${why}.`);
    }
    const specialTokens = postProcessorTokens(tokenizerJson.post_processor, invalid);
    let vocab: Map<string, number>;
    try {
      // The post-processor is applied by this class (specialTokens), never by the library.
      this.#impl = new HfImplementation({ ...tokenizerJson, post_processor: null }, tokenizerConfig);
      vocab = this.#impl.get_vocab(true);
    } catch (cause) {
      throw invalid(`is not a tokenizer @huggingface/tokenizers can load: ${(cause as Error)?.message ?? String(cause)}`, cause);
    }
    const ids = [...vocab.values()];
    if (ids.length === 0 || !ids.every((id) => Number.isSafeInteger(id) && id >= 0 && id < 2 ** 31)) {
      throw invalid('has an empty vocabulary or token ids that are not integers in [0, 2^31).');
    }
    this.name = name;
    this.vocabSize = ids.reduce((m, id) => Math.max(m, id), 0) + 1;
    const outside = [...specialTokens.prefix, ...specialTokens.suffix].find((id) => id >= this.vocabSize);
    if (outside !== undefined) throw invalid(`has a post-processor that adds id ${outside}, outside its ${this.vocabSize}-id vocabulary.`);
    this.specialTokens = specialTokens;
    this.specialIds = specialIdsOf(tokenizerJson.added_tokens);
    // transformers 5: off unless the config asks, and never for BPE (it would strip real spaces before punctuation).
    this.#cleanUpSpaces =
      tokenizerConfig.clean_up_tokenization_spaces === true &&
      ((tokenizerJson.model as Json).type !== 'BPE' || tokenizerConfig.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output === true);
    const id = (key: string) => {
      const text = tokenText(tokenizerConfig[key]);
      return text === undefined ? undefined : this.#impl.token_to_id(text);
    };
    this.bos = id('bos_token');
    this.eos = id('eos_token');
    this.pad = id('pad_token') ?? this.eos ?? 0;
  }

  /** Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a model folder. */
  static async load(folder: Folder, signal?: AbortSignal): Promise<HfTokenizer> {
    const read = async (path: string) => (await readJsonFile(folder, path, {}, signal)) as Json;
    const config = (await folder.exists(HF_TOKENIZER_CONFIG_FILE)) ? await read(HF_TOKENIZER_CONFIG_FILE) : {};
    return new HfTokenizer(await read(HF_TOKENIZER_FILE), config, `${folder.name}/${HF_TOKENIZER_FILE}`);
  }

  /** Token ids of `text`, no special tokens added (special-token strings in it still become their ids); `TOKENIZER_INVALID` when the tokenizer's own rules fail on it. */
  encode(text: string): number[] {
    return this.#run('encode', () => this.#impl.encode(text, { add_special_tokens: false }).ids);
  }

  /**
   * The text of `ids` as transformers' `decode(ids, skip_special_tokens=True)`
   * gives it: special tokens dropped, spaces before punctuation cleaned up
   * only when tokenizer_config.json's `clean_up_tokenization_spaces` asks
   * and the model is not BPE. `TOKENIZER_INVALID` when the tokenizer's own
   * rules fail on them.
   */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.#run('decode', () => this.#impl.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: this.#cleanUpSpaces }));
  }

  /** Runs a library call, turning its failures (a malformed but loadable tokenizer.json fails only here) into typed errors. */
  #run<T>(what: string, call: () => T): T {
    try {
      return call();
    } catch (cause) {
      throw new LoraFuseError('TOKENIZER_INVALID', `${this.name} failed to ${what}: ${(cause as Error)?.message ?? String(cause)}`, {
        cause,
        details: { file: this.name },
      });
    }
  }
}
