import { Tokenizer as HfImplementation } from '@huggingface/tokenizers';
import { LoraFuseError } from '../errors/index.js';
import type { Folder } from '../io/folder.js';
import { readJsonFile } from '../io/json-file.js';
import type { Tokenizer } from './tokenizer.js';

/** The Hugging Face tokenizer files of a model folder. */
export const HF_TOKENIZER_FILE = 'tokenizer.json';
/** Optional companion naming the special tokens. */
export const HF_TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

type Json = Record<string, unknown>;

/** A special token of `tokenizer_config.json`: a string or `{content}`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/**
 * A Hugging Face `tokenizer.json` tokenizer, run by the pure-JS
 * `@huggingface/tokenizers` package (BPE, WordPiece, Unigram; normalizers,
 * pre-tokenizers and decoders as the Rust library defines them). `encode`
 * adds no special tokens; `decode` drops them. `bos`, `eos` and `pad` come
 * from `tokenizer_config.json` when given; the pad id falls back to `eos`,
 * then 0 (padding never reaches a loss).
 */
export class HfTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  readonly bos?: number;
  readonly eos?: number;
  readonly pad: number;
  readonly #impl: HfImplementation;

  /** Builds from the parsed JSON files; throws `DATA_INVALID` when the library cannot read them. */
  constructor(tokenizerJson: Json, tokenizerConfig: Json = {}, name = 'tokenizer.json') {
    try {
      this.#impl = new HfImplementation(tokenizerJson, tokenizerConfig);
    } catch (cause) {
      throw new LoraFuseError('DATA_INVALID', `${name} is not a tokenizer @huggingface/tokenizers can load: ${(cause as Error).message}`, { cause });
    }
    this.name = name;
    this.vocabSize = Math.max(...this.#impl.get_vocab(true).values()) + 1;
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

  encode(text: string): number[] {
    return this.#impl.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[]): string {
    return this.#impl.decode([...ids], { skip_special_tokens: true });
  }
}
