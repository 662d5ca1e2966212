import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import { rougeCorpus, type RougeScores, type RougeTokenization } from '../eval/rouge.js';
import type { DeviceAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import type { PromptFormat } from '../data/prompt.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { generate } from './generate.js';
import { stopTokenIds } from './generation-config.js';
import { promptForSource } from './text.js';

/** Options of {@link evaluateRouge}; the prompt format (plain `template` or `chat`) is the one the examples were trained with. */
export interface EvaluateRougeOptions extends PromptFormat {
  /** Adapters applied while generating (none: the base model). */
  readonly adapters?: readonly DeviceAdapter[];
  /** Ids that end a summary; default {@link stopTokenIds} of the tokenizer and `chat` (its eos, the chat turn's close). */
  readonly stopTokens?: readonly number[];
  /** Tokens a prompt plus its summary may take (the model's context, or less). */
  readonly maxLength: number;
  /** Longest generated summary, in tokens. */
  readonly maxNewTokens: number;
  /** How ROUGE splits text; default from the references (characters when they hold Japanese). */
  readonly tokenization?: RougeTokenization;
  /** Checked before each pair: aborting throws `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Called after each pair. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What {@link evaluateRouge} reports: the corpus scores and the summaries written. */
export interface GeneratedRouge extends RougeScores {
  /** The greedy summary of each pair, in order. */
  readonly predictions: readonly string[];
}

/**
 * ROUGE-1/2/L of greedy summaries: each pair's source goes into the
 * training prompt ({@link promptForSource}: the plain template or the chat
 * template), a summary is generated greedily up to a stop token or
 * `maxNewTokens`, and the summaries are scored against the references
 * with {@link rougeCorpus} (the mean F1 over pairs). Throws `INVALID_OPTION`
 * for no pairs, and what {@link generate} throws.
 */
export async function evaluateRouge(
  model: CausalLM,
  tokenizer: Tokenizer,
  pairs: readonly { readonly source: string; readonly summary: string }[],
  options: EvaluateRougeOptions,
): Promise<GeneratedRouge> {
  if (pairs.length === 0) throw new LoraFuseError('INVALID_OPTION', 'ROUGE needs at least one {source, summary} pair.');
  const { maxLength, maxNewTokens, template, chat } = options;
  const stopTokens = options.stopTokens ?? stopTokenIds(tokenizer, { chat });
  const predictions: string[] = [];
  for (const pair of pairs) {
    throwIfAborted(options.signal);
    const prompt = promptForSource(tokenizer, pair.source, { template, chat, maxLength, maxNewTokens });
    const { tokens } = await generate(model, prompt, { maxNewTokens, adapters: options.adapters, stopTokens, signal: options.signal });
    predictions.push(tokenizer.decode(tokens));
    options.onProgress?.(predictions.length, pairs.length);
  }
  return {
    ...rougeCorpus(
      predictions,
      pairs.map((p) => p.summary),
      options.tokenization,
    ),
    predictions,
  };
}
