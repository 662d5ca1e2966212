import {
  ByteTokenizer,
  ChatTemplate,
  HF_TOKENIZER_FILE,
  HfTokenizer,
  LoraFuseError,
  encodeRecord,
  readJsonl,
  type CausalLM,
  type Example,
  type Folder,
  type PromptFormat,
  type Tokenizer,
} from '@lorafuse/core';
import { fileSource } from '@lorafuse/core/node';
import type { ParsedCommand } from '../args.js';

/** How `train`, `adapt`, `eval` and `generate` put a source into a prompt: a plain template or the model's chat template. */
export const PROMPT_OPTIONS = {
  template: { type: 'string' },
  chat: { type: 'boolean' },
  system: { type: 'string' },
  'date-string': { type: 'string' },
} as const;

/** Usage lines for {@link PROMPT_OPTIONS}. */
export const PROMPT_USAGE = `  --template    prompt for {"source","summary"} pairs; {source} appears once and the
                summary follows (default "{source}\\nTL;DR: ")
  --chat        put each pair in the model's chat template instead (chat_template.jinja, or
                tokenizer_config.json's chat_template): the source as the user's message, the
                summary as the assistant's reply
  --system      a system message before the user's (with --chat)
  --date-string the chat template's date_string (Llama 3.x templates print today's date
                otherwise), e.g. "26 Jul 2024"`;

/** Options shared by `train`, `adapt` and `eval` for turning JSONL into examples. */
export const DATA_OPTIONS = {
  ...PROMPT_OPTIONS,
  'no-eos': { type: 'boolean' },
  'max-length': { type: 'string' },
  'batch-size': { type: 'string' },
} as const;

/** Usage lines for {@link DATA_OPTIONS}. */
export const DATA_USAGE = `${PROMPT_USAGE}
  --no-eos      end a pair's target at its summary: by default the loss covers the summary
                and the end of the sequence after it (the tokenizer's eos, or with --chat the
                token that closes the assistant's turn), so that the model learns to stop
  --max-length  context in tokens (default the model's max_position_embeddings);
                longer pairs lose the end of their source, never the summary
  --batch-size  examples per forward pass (default 8)
  Tokenizer: the model folder's tokenizer.json (Hugging Face) when it has one, else the
  built-in byte-level one (UTF-8 bytes + bos/eos/pad, 259 ids). Special tokens come as
  transformers' tokenizer(text) adds them (a BOS for Llama 3 and Gemma), once per sequence;
  {"text"} records get those and nothing more.`;

/** `--base-dtype`, for the commands that load a model. */
export const BASE_DTYPE_OPTION = { 'base-dtype': { type: 'string' } } as const;

/** Usage line for {@link BASE_DTYPE_OPTION}. */
export const BASE_DTYPE_USAGE = `  --base-dtype  hold the model's frozen matrices as f32, bf16 or f16, converted as they load
                (round to nearest even, as torch's .to; default: as stored; bf16 halves an f32 model)`;

/** The `--base-dtype` of a command line, as `CausalLM.load` and `planMemory` take it. */
export function baseDtypeOf(command: string, parsed: ParsedCommand): { baseDtype?: 'f32' | 'bf16' | 'f16' } {
  const value = parsed.values['base-dtype'];
  if (value === undefined) return {};
  if (value !== 'f32' && value !== 'bf16' && value !== 'f16')
    throw new LoraFuseError('CLI_USAGE', `${command}: --base-dtype must be f32, bf16 or f16, got ${String(value)}.`);
  return { baseDtype: value };
}

/** `--checkpointing`, for the commands that train or plan. */
export const CHECKPOINTING_OPTION = { checkpointing: { type: 'string' } } as const;

/** Usage line for {@link CHECKPOINTING_OPTION}. */
export const CHECKPOINTING_USAGE = `  --checkpointing
                activation checkpointing of the decoder layers: auto (default: on when the run's
                memory plan needs it), layers (keep only each layer's input, recompute it in the
                backward pass: the same gradients, about a third more time) or none`;

/** The `--checkpointing` of a command line. */
export function checkpointingOf(command: string, parsed: ParsedCommand): { checkpointing?: 'none' | 'layers' | 'auto' } {
  const value = parsed.values.checkpointing;
  if (value === undefined) return {};
  if (value !== 'none' && value !== 'layers' && value !== 'auto')
    throw new LoraFuseError('CLI_USAGE', `${command}: --checkpointing must be auto, layers or none, got ${String(value)}.`);
  return { checkpointing: value };
}

/** Reads a required string option, or throws `CLI_USAGE`. */
export function required(command: string, parsed: ParsedCommand, name: string): string {
  const value = parsed.values[name];
  if (typeof value !== 'string') throw new LoraFuseError('CLI_USAGE', `${command}: --${name} is required. See \`lorafuse ${command} --help\`.`);
  return value;
}

/** Parses an optional number option within `[min, max]` (integers when `integer`), or throws `CLI_USAGE`. */
export function numberOption(
  command: string,
  parsed: ParsedCommand,
  name: string,
  fallback: number,
  { min = 0, max = Infinity, integer = false } = {},
): number {
  const raw = parsed.values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !(value >= min && value <= max) || (integer && !Number.isInteger(value))) {
    throw new LoraFuseError('CLI_USAGE', `${command}: --${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${String(raw)}.`);
  }
  return value;
}

/**
 * The tokenizer for a model folder: its `tokenizer.json` when present, else
 * the byte-level one. Throws `MODEL_UNSUPPORTED` when the tokenizer has more
 * ids than the model's embedding rows.
 */
export async function modelTokenizer(folder: Folder, model: CausalLM): Promise<Tokenizer> {
  const tokenizer = (await folder.exists(HF_TOKENIZER_FILE)) ? await HfTokenizer.load(folder) : new ByteTokenizer();
  if (model.config.vocabSize < tokenizer.vocabSize) {
    throw new LoraFuseError(
      'MODEL_UNSUPPORTED',
      `${folder.name} has ${model.config.vocabSize} token ids, fewer than the ${tokenizer.vocabSize} of its tokenizer (${tokenizer.name}); add the model's tokenizer.json to the folder.`,
      {
        details: { vocabSize: model.config.vocabSize, tokenizerVocabSize: tokenizer.vocabSize },
      },
    );
  }
  return tokenizer;
}

/**
 * The prompt format the command line asks for: `--template`, or with
 * `--chat` the model folder's chat template (`--system`, `--date-string`).
 * Throws `CLI_USAGE` for `--template` with `--chat`, or `--system` or
 * `--date-string` without it, and `CHAT_TEMPLATE_INVALID` when the folder
 * has no usable chat template.
 */
export async function promptFormat(command: string, parsed: ParsedCommand, folder: Folder): Promise<PromptFormat> {
  const { template, chat, system } = parsed.values;
  const dateString = parsed.values['date-string'];
  if (chat !== true) {
    const chatOnly = system !== undefined ? '--system' : dateString !== undefined ? '--date-string' : undefined;
    if (chatOnly) throw new LoraFuseError('CLI_USAGE', `${command}: ${chatOnly} needs --chat. See \`lorafuse ${command} --help\`.`);
    return { template: typeof template === 'string' ? template : undefined };
  }
  if (template !== undefined) {
    throw new LoraFuseError('CLI_USAGE', `${command}: --template and --chat are exclusive; put instructions in --system. See \`lorafuse ${command} --help\`.`);
  }
  const chatTemplate = await ChatTemplate.load(folder, { dateString: typeof dateString === 'string' ? dateString : undefined });
  return { chat: { template: chatTemplate, system: typeof system === 'string' ? system : undefined } };
}

/** `--max-length`: the context examples are cut to (default and maximum the model's). */
export function maxLengthOption(command: string, parsed: ParsedCommand, model: CausalLM): number {
  return numberOption(command, parsed, 'max-length', model.config.maxPositionEmbeddings, { min: 2, max: model.config.maxPositionEmbeddings, integer: true });
}

/** Reads a JSONL file and encodes every record for `model` in `format`, with the command line's context and `--no-eos`. */
export async function readExamples(
  command: string,
  parsed: ParsedCommand,
  path: string,
  tokenizer: Tokenizer,
  model: CausalLM,
  format: PromptFormat,
): Promise<Example[]> {
  const maxLength = maxLengthOption(command, parsed, model);
  const records = await readJsonl(await fileSource(path));
  if (records.length === 0) throw new LoraFuseError('DATA_INVALID', `${path} holds no records.`);
  return records.map((r) => encodeRecord(r, tokenizer, { ...format, maxLength, appendEos: parsed.values['no-eos'] === true ? false : undefined }));
}
