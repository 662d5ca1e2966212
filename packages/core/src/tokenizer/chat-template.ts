import { Environment, Interpreter, parse, tokenize } from '@huggingface/jinja';
import { LoraFuseError } from '../errors/index.js';
import type { Folder } from '../io/folder.js';
import { readJsonFile } from '../io/json-file.js';
import { decodeUtf8 } from '../io/text.js';
import { readFile } from '../io/folder.js';
import { HF_TOKENIZER_CONFIG_FILE } from './hf.js';
import { strftime } from './strftime.js';

/** A model folder's chat template file; when present it wins over tokenizer_config.json's `chat_template`, as in transformers. */
export const CHAT_TEMPLATE_FILE = 'chat_template.jinja';

/** The named special tokens transformers passes to a chat template (those the tokenizer config sets). */
const SPECIAL_TOKEN_VARIABLES = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

type Json = Record<string, unknown>;

/** One message of a conversation. */
export interface ChatMessage {
  /** `system`, `user` or `assistant` (templates may know more roles). */
  readonly role: string;
  readonly content: string;
}

/** Options of a {@link ChatTemplate}. */
export interface ChatTemplateOptions {
  /**
   * The template's `date_string`, pinned (Llama 3.x templates print
   * "Today Date: …" from it, and call `strftime_now` for today's date
   * when it is not given, so a pinned one keeps renderings reproducible).
   */
  readonly dateString?: string;
  /** More template variables (Qwen 3's `enable_thinking`, say); they win over the special tokens. */
  readonly variables?: Readonly<Record<string, unknown>>;
}

/** Options of {@link ChatTemplate.render}. */
export interface ChatRenderOptions {
  /** End with the header of an assistant turn, for the model to write it (transformers' `add_generation_prompt`). */
  readonly addGenerationPrompt?: boolean;
}

/** A special token of tokenizer_config.json: a string or `{content}`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/** Python's `range`: `range(stop)` or `range(start, stop[, step])`. */
function range(...args: number[]): number[] {
  const [start, stop, step = 1] = args.length === 1 ? [0, args[0]] : args;
  if (!Number.isInteger(start) || !Number.isInteger(stop) || !Number.isInteger(step) || step === 0)
    throw new Error('range() needs integers and a non-zero step');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/** The chat template text of a tokenizer config: `chat_template` as a string, or the entry named `default` of a list of `{name, template}`. */
function configTemplate(config: Json): string | undefined {
  const value = config.chat_template;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const entry = value.find((t) => typeof t === 'object' && t !== null && (t as Json).name === 'default') as Json | undefined;
    if (typeof entry?.template === 'string') return entry.template;
  }
  return undefined;
}

/**
 * A Hugging Face chat template (Jinja), rendered by `@huggingface/jinja` as
 * transformers' `apply_chat_template(..., tokenize=False)` renders it: with
 * `trim_blocks` and `lstrip_blocks`, the variables `messages`,
 * `add_generation_prompt`, `tools` and `documents` (both none), the
 * special tokens the tokenizer config names (`bos_token`, `eos_token`, …),
 * `raise_exception` and `strftime_now` (Python's strftime in the C locale,
 * on today's date). The rendered text is encoded as transformers encodes
 * it, without the tokenizer's special tokens: templates write their own BOS.
 */
export class ChatTemplate {
  /** Where the template came from, for messages. */
  readonly name: string;
  readonly #program: ReturnType<typeof parse>;
  readonly #variables: Record<string, unknown>;

  /**
   * Parses `source`; `tokenizerConfig` gives the special-token variables.
   * Throws `CHAT_TEMPLATE_INVALID` when the template does not parse.
   */
  constructor(source: string, tokenizerConfig: Json = {}, options: ChatTemplateOptions = {}, name = 'chat template') {
    this.name = name;
    try {
      this.#program = parse(tokenize(source, { lstrip_blocks: true, trim_blocks: true }));
    } catch (cause) {
      throw new LoraFuseError('CHAT_TEMPLATE_INVALID', `${name} does not parse as a Jinja template: ${(cause as Error)?.message ?? String(cause)}`, {
        cause,
        details: { template: name },
      });
    }
    const specials: Record<string, string> = {};
    for (const key of SPECIAL_TOKEN_VARIABLES) {
      const text = tokenText(tokenizerConfig[key]);
      if (text !== undefined) specials[key] = text;
    }
    this.#variables = { ...specials, ...(options.dateString === undefined ? {} : { date_string: options.dateString }), ...options.variables };
  }

  /**
   * The chat template of a model folder: `chat_template.jinja`, else
   * tokenizer_config.json's `chat_template` (a string, or the `default`
   * entry of a list). Throws `CHAT_TEMPLATE_INVALID` when the folder has
   * neither, or the template does not parse.
   */
  static async load(folder: Folder, options: ChatTemplateOptions = {}, signal?: AbortSignal): Promise<ChatTemplate> {
    const config = (await folder.exists(HF_TOKENIZER_CONFIG_FILE)) ? ((await readJsonFile(folder, HF_TOKENIZER_CONFIG_FILE, {}, signal)) as Json) : {};
    if (await folder.exists(CHAT_TEMPLATE_FILE)) {
      const path = `${folder.name}/${CHAT_TEMPLATE_FILE}`;
      return new ChatTemplate(decodeUtf8(await readFile(folder, CHAT_TEMPLATE_FILE, signal), path), config, options, path);
    }
    const source = configTemplate(config);
    if (source === undefined) {
      throw new LoraFuseError(
        'CHAT_TEMPLATE_INVALID',
        `${folder.name} has no chat template: neither ${CHAT_TEMPLATE_FILE} nor a "chat_template" in ${HF_TOKENIZER_CONFIG_FILE}; use a plain prompt template instead.`,
        { details: { folder: folder.name } },
      );
    }
    return new ChatTemplate(source, config, options, `${folder.name}/${HF_TOKENIZER_CONFIG_FILE} chat_template`);
  }

  /** The text of `messages` in this template; `CHAT_TEMPLATE_INVALID` when rendering fails (the template's `raise_exception` included). */
  render(messages: readonly ChatMessage[], options: ChatRenderOptions = {}): string {
    const env = new Environment();
    const globals: Record<string, unknown> = {
      true: true,
      false: false,
      none: null,
      True: true,
      False: false,
      None: null,
      range,
      raise_exception: (message: unknown) => {
        throw new Error(String(message));
      },
      strftime_now: (format: unknown) => strftime(new Date(), String(format)),
      tools: null,
      documents: null,
      ...this.#variables,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: options.addGenerationPrompt === true,
    };
    for (const [key, value] of Object.entries(globals)) env.set(key, value);
    try {
      return (new Interpreter(env).run(this.#program) as { value: string }).value;
    } catch (cause) {
      throw new LoraFuseError('CHAT_TEMPLATE_INVALID', `${this.name} failed to render: ${(cause as Error)?.message ?? String(cause)}`, {
        cause,
        details: { template: this.name },
      });
    }
  }
}
