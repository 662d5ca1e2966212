import { CausalLM, loadAdapter, uploadAdapter, type Backend, type DeviceAdapter, type Runtime, type Tokenizer } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';
import type { ParsedCommand } from '../args.js';
import { useCliBackend } from '../backend-choice.js';
import type { CliIO } from '../io.js';
import { modelTokenizer } from './model-data.js';

/** A model ready for inference: its backend, weights, tokenizer and adapters. */
export interface LoadedModel {
  readonly backend: Backend;
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  readonly adapters: readonly DeviceAdapter[];
}

/** Loads `modelDir` with its tokenizer and the `--adapter` folder, if any, on the `--backend` of `runtime` ({@link useCliBackend}). */
export async function loadModelForInference(runtime: Runtime, parsed: ParsedCommand, modelDir: string, io: CliIO): Promise<LoadedModel> {
  const backend = await useCliBackend(runtime, parsed.values, io);
  const model = await CausalLM.load(backend, nodeFolder(modelDir));
  const tokenizer = await modelTokenizer(modelDir, model);
  const adapters = typeof parsed.values.adapter === 'string' ? [uploadAdapter(backend, await loadAdapter(nodeFolder(parsed.values.adapter)))] : [];
  return { backend, model, tokenizer, adapters };
}
