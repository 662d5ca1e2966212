import type { Backend } from '../backend/backend.js';
import type { ChatOptions } from '../data/chat.js';
import { type ErrorCode, isLoraFuseError, LoraFuseError } from '../errors/index.js';
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
  /**
   * Where an interrupted search with the same options stood (what it last
   * gave {@link PruneRatioSearchOptions.onCandidate}): its candidates are not
   * run again, and the search goes on from the next ratio.
   */
  readonly progress?: PruneRatioSearchProgress;
  /** The checkpoint folder of candidate `index`'s run, and the checkpoint to resume it from (see {@link adapt}). */
  readonly candidateCheckpoint?: (index: number, ratio: number) => CandidateCheckpoint | Promise<CandidateCheckpoint>;
  /**
   * Called after each candidate has been scored or has failed, with the
   * search's progress; the search waits for it, so a caller that saves the
   * progress there can resume from it after a crash.
   */
  readonly onCandidate?: (progress: PruneRatioSearchProgress) => void | Promise<void>;
}

/** Checkpointing of one candidate's run. */
export type CandidateCheckpoint = Pick<AdaptiveMergeOptions, 'checkpoint' | 'resume'>;

/** Where a {@link searchPruneRatio} stands after some of its candidates. */
export interface PruneRatioSearchProgress {
  /** Candidates done: the first `tried` ratios of the grid. */
  readonly tried: number;
  /** Those that ran, in the order tried. */
  readonly candidates: readonly PruneRatioCandidate[];
  /** Those that failed, in the order tried. */
  readonly failed: readonly FailedPruneRatio[];
  /** The best so far (the first of equals by dev ROUGE-L): its place in the grid, scores and run; absent while none has run. */
  readonly best?: { readonly index: number; readonly candidate: PruneRatioCandidate; readonly result: AdaptiveMergeResult };
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
 * reported in `failed` and the others go on. Each candidate's run may be
 * checkpointed (`candidateCheckpoint`) and the search's progress saved after
 * each candidate (`onCandidate`), so that an interrupted search resumes
 * (`progress`) to the result the uninterrupted one gives. Throws
 * `INVALID_OPTION` for an empty or oversized grid, a ratio outside `[0, 1]`,
 * no dev pairs or progress beyond the grid, the first candidate's error when
 * every one fails, and what {@link adaptiveMerge} throws before training.
 */
export async function searchPruneRatio(backend: Backend, model: CausalLM, options: PruneRatioSearchOptions): Promise<PruneRatioSearchResult> {
  const { ratios, dev } = options;
  if (ratios.length === 0 || ratios.length > 8 || !ratios.every((r) => r >= 0 && r <= 1)) {
    throw new LoraFuseError('INVALID_OPTION', `The pruning-ratio grid needs 1 to 8 ratios in [0, 1]; got [${ratios.join(', ')}].`, {
      details: { ratios: [...ratios] },
    });
  }
  if (dev.length === 0) throw new LoraFuseError('INVALID_OPTION', 'Choosing the pruning ratio needs dev pairs to score.');
  const maxNewTokens = options.maxNewTokens ?? 64;
  const start = options.progress;
  if (start && !(Number.isInteger(start.tried) && start.tried >= 0 && start.tried <= ratios.length)) {
    throw new LoraFuseError('INVALID_OPTION', `The search's progress has ${start.tried} candidates done, but the grid has ${ratios.length} ratios.`);
  }
  const candidates = [...(start?.candidates ?? [])];
  const failed = [...(start?.failed ?? [])];
  let best = start?.best;
  let firstError: LoraFuseError | undefined;
  for (let index = start?.tried ?? 0; index < ratios.length; index++) {
    const ratio = ratios[index];
    const checkpoint = await options.candidateCheckpoint?.(index, ratio);
    let result: AdaptiveMergeResult | undefined;
    try {
      result = await adaptiveMerge(backend, model, { ...options, ...checkpoint, ratio, onProgress: (event: AdaptEvent) => options.onProgress?.(event, ratio) });
    } catch (error) {
      if (!isLoraFuseError(error) || error.code === 'ABORTED' || error.code === 'ADAPTER_MODEL_MISMATCH' || error.code === 'MERGE_INCOMPATIBLE') throw error;
      if (failed.length === 0) firstError = error;
      failed.push({ ratio, code: error.code, message: error.message });
    }
    if (result) {
      const candidate = { ratio, ...(await devRouge(backend, model, result, options, maxNewTokens)) };
      candidates.push(candidate);
      if (!best || candidate.rougeL > best.candidate.rougeL) best = { index, candidate, result };
    }
    await options.onCandidate?.({ tried: index + 1, candidates: [...candidates], failed: [...failed], ...(best ? { best } : {}) });
  }
  if (!best) {
    // The first failure of a resumed search happened in the run before: its record is all there is.
    const first = failed[0];
    throw firstError ?? new LoraFuseError(first.code as ErrorCode, first.message, { details: { ratio: first.ratio } });
  }
  return { ratio: best.candidate.ratio, candidates, failed, best: best.result };
}

/** ROUGE of the greedy dev summaries of `result`'s merged adapter. */
async function devRouge(
  backend: Backend,
  model: CausalLM,
  result: AdaptiveMergeResult,
  options: PruneRatioSearchOptions,
  maxNewTokens: number,
): Promise<Omit<PruneRatioCandidate, 'ratio'>> {
  const device = uploadAdapter(backend, result.merged);
  try {
    const scores = await evaluateRouge(model, options.tokenizer, options.dev, {
      adapters: [device],
      template: options.template,
      chat: options.chat,
      maxLength: options.maxLength,
      maxNewTokens,
      signal: options.signal,
    });
    return { rouge1: scores.rouge1, rouge2: scores.rouge2, rougeL: scores.rougeL };
  } finally {
    freeAdapter(backend, device);
  }
}
