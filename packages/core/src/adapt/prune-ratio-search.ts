import type { Backend } from '../backend/backend.js';
import type { ChatOptions } from '../data/chat.js';
import { isLoraFuseError, LoraFuseError } from '../errors/index.js';
import { evaluateRouge } from '../generate/summaries-rouge.js';
import { freeAdapter, uploadAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { AdaptEvent } from './adapt.js';
import { type AdaptiveMergeOptions, type AdaptiveMergeResult, adaptiveMerge } from './adaptive-merge.js';

/** Options of {@link searchPruneRatio}: {@link adapt}'s, with host adapters and a grid of ratios. */
export interface PruneRatioSearchOptions extends Omit<AdaptiveMergeOptions, 'ratio' | 'onProgress' | 'checkpoint' | 'resume'> {
  /** The candidate pruning ratios (1–8 values in `[0, 1]`), tried in order. */
  readonly ratios: readonly number[];
  /** Dev pairs whose ROUGE-L of greedy summaries picks the ratio. */
  readonly dev: readonly { readonly source: string; readonly summary: string }[];
  /** The tokenizer the examples were encoded with. */
  readonly tokenizer: Tokenizer;
  /** Tokens a dev prompt plus its summary may take. */
  readonly maxLength: number;
  /** Longest generated dev summary (default 64). */
  readonly maxNewTokens?: number;
  /** The prompt template the examples were encoded with (default `DEFAULT_PROMPT_TEMPLATE`). */
  readonly template?: string;
  /** The chat template the examples were encoded with, instead of `template`. */
  readonly chat?: ChatOptions;
  /** Called with every event of every candidate's run, with that candidate's ratio. */
  readonly onProgress?: (event: AdaptEvent, ratio: number) => void;
}

/** One candidate of {@link searchPruneRatio}: its ratio and dev ROUGE. */
export interface PruneRatioCandidate {
  readonly ratio: number;
  readonly rouge1: number;
  readonly rouge2: number;
  readonly rougeL: number;
}

/** A candidate of {@link searchPruneRatio} whose run failed (and was left out). */
export interface FailedPruneRatio {
  readonly ratio: number;
  /** The error's code and message. */
  readonly code: string;
  readonly message: string;
}

/** What {@link searchPruneRatio} found. */
export interface PruneRatioSearchResult {
  /** The ratio with the highest dev ROUGE-L (the first of equals). */
  readonly ratio: number;
  /** Every candidate that ran, in the order tried. */
  readonly candidates: readonly PruneRatioCandidate[];
  /** Candidates whose run failed with a typed error (a diverged run, say), in the order tried. */
  readonly failed: readonly FailedPruneRatio[];
  /** The winning run's result: its merged adapter, trained adapters and summary. */
  readonly best: AdaptiveMergeResult;
}

/**
 * The method's choice of the pruning ratio: runs {@link adaptiveMerge} once
 * per candidate ratio, each from the same input adapters, scores each merged
 * result on the dev pairs by ROUGE-L of greedy summaries
 * ({@link evaluateRouge}), and returns the best ratio with its run. A
 * candidate whose run fails with a typed error other than `ABORTED` is
 * reported in `failed` and the others go on. Throws `INVALID_OPTION` for an
 * empty or oversized grid, a ratio outside `[0, 1]` or no dev pairs, the
 * first candidate's error when every one fails, and what
 * {@link adaptiveMerge} throws before training.
 */
export async function searchPruneRatio(backend: Backend, model: CausalLM, options: PruneRatioSearchOptions): Promise<PruneRatioSearchResult> {
  const { ratios, dev, tokenizer } = options;
  if (ratios.length === 0 || ratios.length > 8 || !ratios.every((r) => r >= 0 && r <= 1)) {
    throw new LoraFuseError('INVALID_OPTION', `The pruning-ratio grid needs 1 to 8 ratios in [0, 1]; got [${ratios.join(', ')}].`, {
      details: { ratios: [...ratios] },
    });
  }
  if (dev.length === 0) throw new LoraFuseError('INVALID_OPTION', 'Choosing the pruning ratio needs dev pairs to score.');
  const maxNewTokens = options.maxNewTokens ?? 64;
  const candidates: PruneRatioCandidate[] = [];
  const failed: FailedPruneRatio[] = [];
  let firstError: unknown;
  let best: { ratio: number; rougeL: number; result: AdaptiveMergeResult } | undefined;
  for (const ratio of ratios) {
    let result: AdaptiveMergeResult;
    try {
      result = await adaptiveMerge(backend, model, { ...options, ratio, onProgress: (event: AdaptEvent) => options.onProgress?.(event, ratio) });
    } catch (error) {
      if (!isLoraFuseError(error) || error.code === 'ABORTED' || error.code === 'ADAPTER_MODEL_MISMATCH' || error.code === 'MERGE_INCOMPATIBLE') throw error;
      firstError ??= error;
      failed.push({ ratio, code: error.code, message: error.message });
      continue;
    }
    const device = uploadAdapter(backend, result.merged);
    try {
      const scores = await evaluateRouge(model, tokenizer, dev, {
        adapters: [device],
        template: options.template,
        chat: options.chat,
        maxLength: options.maxLength,
        maxNewTokens,
        signal: options.signal,
      });
      candidates.push({ ratio, rouge1: scores.rouge1, rouge2: scores.rouge2, rougeL: scores.rougeL });
      if (!best || scores.rougeL > best.rougeL) best = { ratio, rougeL: scores.rougeL, result };
    } finally {
      freeAdapter(backend, device);
    }
  }
  if (!best) throw firstError;
  return { ratio: best.ratio, candidates, failed, best: best.result };
}
