import {
  ByteTokenizer,
  HF_TOKENIZER_FILE,
  HfTokenizer,
  LoraFuseError,
  encodeRecord,
  readJsonl,
  type CausalLM,
  type Example,
  type Folder,
  type Tokenizer,
} from '@lorafuse/core';
import { fileSource } from '@lorafuse/core/node';
import type { ParsedCommand } from '../args.js';

/** Options shared by `train` and `eval` for turning JSONL into examples. */
export const DATA_OPTIONS = {
  template: { type: 'string' },
  'max-length': { type: 'string' },
  'batch-size': { type: 'string' },
} as const;

/** Usage lines for {@link DATA_OPTIONS}. */
export const DATA_USAGE = `  --template    prompt for {"source","summary"} pairs; {source} appears once and the
                summary follows (default "{source}\\nTL;DR: "); the loss covers the summary
  --max-length  context in tokens (default the model's max_position_embeddings);
                longer pairs lose the end of their source, never the summary
  --batch-size  examples per forward pass (default 8)
  Tokenizer: the model folder's tokenizer.json (Hugging Face) when it has one, else the
  built-in byte-level one (UTF-8 bytes + bos/eos/pad, 259 ids).`;

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

/** Reads a JSONL file and encodes every record for `model` with the command line's template and context. */
export async function readExamples(command: string, parsed: ParsedCommand, path: string, tokenizer: Tokenizer, model: CausalLM): Promise<Example[]> {
  const maxLength = numberOption(command, parsed, 'max-length', model.config.maxPositionEmbeddings, {
    min: 2,
    max: model.config.maxPositionEmbeddings,
    integer: true,
  });
  const template = typeof parsed.values.template === 'string' ? parsed.values.template : undefined;
  const records = await readJsonl(await fileSource(path));
  if (records.length === 0) throw new LoraFuseError('DATA_INVALID', `${path} holds no records.`);
  return records.map((r) => encodeRecord(r, tokenizer, { maxLength, template }));
}
