import type { LoraAdapter } from '../adapter/index.js';
import type { Backend } from '../backend/backend.js';
import { LoraFuseError } from '../errors/index.js';
import { evaluateRouge } from '../generate/summaries-rouge.js';
import { freeAdapter, uploadAdapter } from '../model/device-adapter.js';
import type { CausalLM } from '../model/llama.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { downloadAdapter } from '../train/init-adapter.js';
import { adapt, type AdaptEvent, type AdaptOptions } from './adapt.js';

/** Options of {@link searchPruneRatio}: {@link adapt}'s, with host adapters and a grid of ratios. */
export interface PruneRatioSearchOptions extends Omit<AdaptOptions, 'adapters' | 'ratio' | 'onProgress' | 'checkpoint' | 'resume'> {
  /** The target adapter and the related ones, on the host; every candidate starts from them. */
  readonly adapters: readonly LoraAdapter[];
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

/** What {@link searchPruneRatio} found. */
export interface PruneRatioSearchResult {
  /** The ratio with the highest dev ROUGE-L (the first of equals). */
  readonly ratio: number;
  /** Every candidate, in the order tried. */
  readonly candidates: readonly PruneRatioCandidate[];
  /** The adapters as the winning run left them (trained and pruned), on the host, in input order. */
  readonly adapters: LoraAdapter[];
}

/**
 * The method's choice of the pruning ratio: runs {@link adapt} once per
 * candidate ratio, each from fresh copies of `adapters`, scores each result
 * on the dev pairs by ROUGE-L of greedy summaries ({@link evaluateRouge}),
 * and returns the best ratio with its trained adapters. Throws
 * `INVALID_OPTION` for an empty or oversized grid, a ratio outside `[0, 1]`
 * or no dev pairs, and what {@link adapt} throws.
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
  let best: { ratio: number; rougeL: number; adapters: LoraAdapter[] } | undefined;
  for (const ratio of ratios) {
    const devices = options.adapters.map((a) => uploadAdapter(backend, a));
    try {
      for await (const event of adapt(backend, model, { ...options, adapters: devices, ratio, onProgress: undefined })) options.onProgress?.(event, ratio);
      const scores = await evaluateRouge(model, tokenizer, dev, {
        adapters: devices,
        template: options.template,
        maxLength: options.maxLength,
        maxNewTokens,
        signal: options.signal,
      });
      candidates.push({ ratio, rouge1: scores.rouge1, rouge2: scores.rouge2, rougeL: scores.rougeL });
      if (!best || scores.rougeL > best.rougeL) {
        const trained: LoraAdapter[] = [];
        for (const [i, d] of devices.entries()) trained.push(await downloadAdapter(backend, d, options.adapters[i].config));
        best = { ratio, rougeL: scores.rougeL, adapters: trained };
      }
    } finally {
      for (const d of devices) freeAdapter(backend, d);
    }
  }
  return { ratio: best!.ratio, candidates, adapters: best!.adapters };
}
