import { LoraFuseError, contextLength, generateText, type Decoding, type TextPrompt } from '@lorafuse/core';
import type { ParsedCommand } from '../args.js';
import { parseCommand } from '../args.js';
import { jsonLine } from '../format.js';
import { cliPlugins, cliRuntime, parseSeed } from '../runtime.js';
import { BASE_DTYPE_OPTION, BASE_DTYPE_USAGE, numberOption } from './model-data.js';
import { FOLDER_USAGE, folderOpener } from '../folders.js';
import { loadModelForInference } from './model-load.js';
import type { Command } from './types.js';

/** Default `--max-new-tokens` of `generate` and of `eval --metric rouge`. */
export const DEFAULT_MAX_NEW_TOKENS = 64;

/** The decoding the command line asks for: beam search with `--num-beams` > 1, sampling with any of `--temperature/--top-k/--top-p`, else greedy. */
function decodingOption(parsed: ParsedCommand): Decoding {
  const numBeams = numberOption('generate', parsed, 'num-beams', 1, { min: 1, max: 64, integer: true });
  const sampling = ['temperature', 'top-k', 'top-p'].some((name) => parsed.values[name] !== undefined);
  if (numBeams > 1 && sampling)
    throw new LoraFuseError('CLI_USAGE', 'generate: --num-beams is deterministic beam search; it cannot be combined with --temperature, --top-k or --top-p.');
  if (numBeams > 1) return { kind: 'beam', numBeams, lengthPenalty: numberOption('generate', parsed, 'length-penalty', 1, { min: -Infinity }) };
  if (!sampling) return { kind: 'greedy' };
  return {
    kind: 'sample',
    temperature: numberOption('generate', parsed, 'temperature', 1, { min: Number.MIN_VALUE }),
    topK: numberOption('generate', parsed, 'top-k', 0, { min: 0, integer: true }),
    topP: numberOption('generate', parsed, 'top-p', 1, { min: Number.MIN_VALUE, max: 1 }),
    seed: parseSeed(parsed.values.seed),
  };
}

/** `lorafuse generate --model dir [--adapter dir] --prompt text`: streams a continuation. */
export const generateCommand: Command = {
  name: 'generate',
  summary: 'Generate text with a model (+ adapter): greedy, sampling or beam search',
  usage: `Usage: lorafuse generate --model <dir> [--adapter <dir>] (--prompt <text> | --source <text> [--template t])
                         [--max-new-tokens n] [--temperature t] [--top-k k] [--top-p p] [--seed n]
                         [--num-beams n [--length-penalty x]] [--base-dtype d] [--backend name] [--json]

  --model           Hugging Face model folder (Llama family)
  --adapter         PEFT LoRA adapter folder applied to it
  --prompt          text to continue as is
  --source          a source text put in the training prompt template instead
                    (its end is cut when it does not fit the context)
  --template        that template; {source} appears once (default "{source}\\nTL;DR: ")
  --max-new-tokens  most new tokens (default ${DEFAULT_MAX_NEW_TOKENS}; fewer when the context ends)
  --temperature, --top-k, --top-p
                    sample instead of greedy decoding (defaults 1, 0 = off, 1 = off), with
                    the Philox stream of --seed (default 0): the same seed gives the same text
  --num-beams       beam search with n beams (transformers' semantics, early_stopping=False)
  --length-penalty  exponent of beam search's length normalisation (default 1)
${BASE_DTYPE_USAGE}
  Generation stops at the tokenizer's end-of-sequence token. The text streams to
  stdout as it is generated.
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
      template: { type: 'string' },
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
    const decoding = decodingOption(parsed);
    const runtime = await cliRuntime(cliPlugins(parseSeed(parsed.values.seed)));
    try {
      const { model, tokenizer, adapters } = await loadModelForInference('generate', runtime, parsed, modelDir, io, folderOpener(io, parsed));
      const stream = generateText(model, tokenizer, input, {
        maxNewTokens: Math.min(maxNewTokens, contextLength(model.config) - 1),
        adapters,
        decoding,
        stopTokens: tokenizer.eos === undefined ? [] : [tokenizer.eos],
        template: typeof parsed.values.template === 'string' ? parsed.values.template : undefined,
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
