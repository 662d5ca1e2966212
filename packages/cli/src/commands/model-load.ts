import { CausalLM, loadAdapter, uploadAdapter, type Backend, type DeviceAdapter, type Folder, type Runtime, type Tokenizer } from '@lorafuse/core';
import type { ParsedCommand } from '../args.js';
import { useCliBackend } from '../backend-choice.js';
import type { FolderOpener } from '../folders.js';
import type { CliIO } from '../io.js';
import { baseDtypeOf, modelTokenizer } from './model-data.js';

/** A model ready for inference: its folder, backend, weights, tokenizer and adapters. */
export interface LoadedModel {
  readonly folder: Folder;
  readonly backend: Backend;
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  readonly adapters: readonly DeviceAdapter[];
}

/** Loads the `--model` folder (in its `--base-dtype`) with its tokenizer and the `--adapter` folder, if any, on the `--backend` of `runtime` ({@link useCliBackend}). */
export async function loadModelForInference(
  command: string,
  runtime: Runtime,
  parsed: ParsedCommand,
  modelSpec: string,
  io: CliIO,
  open: FolderOpener,
): Promise<LoadedModel> {
  const backend = await useCliBackend(runtime, parsed.values, io);
  const { folder } = await open(modelSpec);
  const model = await CausalLM.load(backend, folder, baseDtypeOf(command, parsed));
  const tokenizer = await modelTokenizer(folder, model);
  const adapters = typeof parsed.values.adapter === 'string' ? [uploadAdapter(backend, await loadAdapter((await open(parsed.values.adapter)).folder))] : [];
  return { folder, backend, model, tokenizer, adapters };
}
