import {
  LoraFuseError,
  contextLength,
  defaultDecoding,
  generateText,
  readGenerationConfig,
  stopTokenIds,
  type Decoding,
  type GenerationDefaults,
  type TextPrompt,
} from '@lorafuse/core';
import type { ParsedCommand } from '../args.js';
import { parseCommand } from '../args.js';
import { jsonLine } from '../format.js';
import { cliPlugins, cliRuntime, parseSeed } from '../runtime.js';
import { BASE_DTYPE_OPTION, BASE_DTYPE_USAGE, PROMPT_OPTIONS, PROMPT_USAGE, numberOption, promptFormat } from './model-data.js';
import { FOLDER_USAGE, folderOpener } from '../folders.js';
import { loadModelForInference } from './model-load.js';
import type { Command } from './types.js';

/** Default `--max-new-tokens` of `generate` and of `eval --metric rouge`. */
export const DEFAULT_MAX_NEW_TOKENS = 64;

/**
 * The decoding the command line asks for: beam search with `--num-beams` > 1;
 * sampling with any of `--temperature/--top-k/--top-p`, each value not given
 * taken from generation_config.json when it has one (else 1, 0 = off, 1 =
 * off); `--greedy` for greedy; otherwise the model's generation_config.json
 * defaults ({@link defaultDecoding}: sampling when it sets `do_sample`).
 */
function decodingOption(parsed: ParsedCommand, generation: GenerationDefaults | undefined): Decoding {
  const numBeams = numberOption('generate', parsed, 'num-beams', 1, { min: 1, max: 64, integer: true });
  const sampling = ['temperature', 'top-k', 'top-p'].some((name) => parsed.values[name] !== undefined);
  const choices = [numBeams > 1, sampling, parsed.values.greedy === true].filter(Boolean).length;
  if (choices > 1)
    throw new LoraFuseError('CLI_USAGE', 'generate: choose one of --num-beams (beam search), --greedy, or --temperature/--top-k/--top-p (sampling).');
  if (numBeams > 1) return { kind: 'beam', numBeams, lengthPenalty: numberOption('generate', parsed, 'length-penalty', 1, { min: -Infinity }) };
  const seed = parseSeed(parsed.values.seed);
  if (parsed.values.greedy === true) return { kind: 'greedy' };
  if (!sampling) return defaultDecoding(generation, seed);
  return {
    kind: 'sample',
    temperature: numberOption('generate', parsed, 'temperature', generation?.temperature ?? 1, { min: Number.MIN_VALUE }),
    topK: numberOption('generate', parsed, 'top-k', generation?.topK ?? 0, { min: 0, integer: true }),
    topP: numberOption('generate', parsed, 'top-p', generation?.topP ?? 1, { min: Number.MIN_VALUE, max: 1 }),
    seed,
  };
}

/** `lorafuse generate --model dir [--adapter dir] --prompt text`: streams a continuation. */
export const generateCommand: Command = {
  name: 'generate',
  summary: 'Generate text with a model (+ adapter): greedy, sampling or beam search',
  usage: `Usage: lorafuse generate --model <dir> [--adapter <dir>] (--prompt <text> | --source <text>)
                         [--template t | --chat [--system s] [--date-string d]]
                         [--max-new-tokens n] [--greedy | --temperature t --top-k k --top-p p [--seed n]
                         | --num-beams n [--length-penalty x]] [--base-dtype d] [--backend name] [--json]

  --model           Hugging Face model folder (Llama family)
  --adapter         PEFT LoRA adapter folder applied to it
  --prompt          text to continue as is (after the tokenizer's BOS, when it adds one)
  --source          a source text put in the training prompt instead, as train and eval
                    put it (its end is cut when it does not fit the context)
${PROMPT_USAGE}
                    (with --chat, --prompt or --source is the user's message)
  --max-new-tokens  most new tokens (default ${DEFAULT_MAX_NEW_TOKENS}; fewer when the context ends)
  Decoding: the model's generation_config.json (sampling with its temperature, top_k and
  top_p when it sets do_sample; transformers' defaults 1, 50, 1 for those it leaves out),
  greedy without one, unless one of these asks otherwise:
  --greedy          greedy decoding, whatever generation_config.json says
  --temperature, --top-k, --top-p
                    sample, with these values (the others from generation_config.json,
                    else 1, 0 = off, 1 = off) and the Philox stream of --seed (default 0):
                    the same seed gives the same text
  --num-beams       beam search with n beams (transformers' semantics, early_stopping=False)
  --length-penalty  exponent of beam search's length normalisation (default 1)
${BASE_DTYPE_USAGE}
  Generation stops at every eos_token_id of generation_config.json, the tokenizer's
  end-of-sequence token and, with --chat, the token that closes the assistant's turn.
  The text streams to stdout as it is generated.
  --json            print {"text","tokens","finish_reason"} at the end instead
${FOLDER_USAGE}
`,
  async run(argv, io) {
    const parsed = parseCommand('generate', argv, {
      model: { type: 'string' },
      adapter: { type: 'string' },
      ...BASE_DTYPE_OPTION,
      prompt: { type: 'string' },
      source: { type: 'string' },
      ...PROMPT_OPTIONS,
      greedy: { type: 'boolean' },
      'max-new-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'num-beams': { type: 'string' },
      'length-penalty': { type: 'string' },
    });
    const modelDir = parsed.values.model;
    if (typeof modelDir !== 'string') throw new LoraFuseError('CLI_USAGE', 'generate: --model is required. See `lorafuse generate --help`.');
    const { prompt, source } = parsed.values;
    if ((typeof prompt === 'string') === (typeof source === 'string'))
      throw new LoraFuseError('CLI_USAGE', 'generate: give exactly one of --prompt and --source. See `lorafuse generate --help`.');
    const input: TextPrompt = typeof source === 'string' ? { source } : { text: prompt as string };
    const maxNewTokens = numberOption('generate', parsed, 'max-new-tokens', DEFAULT_MAX_NEW_TOKENS, { min: 1, integer: true });
    decodingOption(parsed, undefined); // bad flags fail before the model loads
    const runtime = await cliRuntime(cliPlugins(parseSeed(parsed.values.seed)));
    try {
      const { folder, model, tokenizer, adapters } = await loadModelForInference('generate', runtime, parsed, modelDir, io, folderOpener(io, parsed));
      const format = await promptFormat('generate', parsed, folder);
      const generation = await readGenerationConfig(folder);
      const stream = generateText(model, tokenizer, input, {
        maxNewTokens: Math.min(maxNewTokens, contextLength(model.config) - 1),
        adapters,
        decoding: decodingOption(parsed, generation),
        stopTokens: stopTokenIds(tokenizer, { generation, chat: format.chat }),
        ...format,
      });
      for (let next = await stream.next(); ; next = await stream.next()) {
        if (next.done) {
          const { text, tokens, finishReason } = next.value;
          io.out(parsed.values.json ? jsonLine({ text, tokens, finish_reason: finishReason }) : '\n');
          break;
        }
        if (!parsed.values.json) io.out(next.value);
      }
    } finally {
      await runtime.dispose();
    }
    return 0;
  },
};
